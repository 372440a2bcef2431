"""The engine benchmark's report is computed from its records and from nothing else.

Records here are made up (random, seeded) in the shape engine_runs writes; every figure of the
report is recomputed from them independently (with the standard library) and must match.
"""

from __future__ import annotations

import json
import random
import statistics
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import engine  # noqa: E402
from benchmarks.engine_report import (  # noqa: E402
    IMPORT_RATIO_TARGET,
    RATIO_TARGET,
    build_report,
    merge_saved,
    to_markdown,
)
from benchmarks.engine_workload import PHASES, SDK_WORKERS, expected_requests  # noqa: E402

NS, LATENCY, REPEATS = (4, 8), 0.05, 3


def _records(seed: int = 7) -> list[dict[str, Any]]:
    rnd = random.Random(seed)
    out = []
    for n in NS:
        for rep in range(REPEATS):
            for provider in ("ours", "null"):
                for phase in PHASES:
                    requests = expected_requests(n, n // 4)[phase] if provider == "ours" else 0
                    out.append(
                        {
                            "provider": provider,
                            "n": n,
                            "duplicates": n // 4,
                            "latency": LATENCY,
                            "parallel": None,
                            "workers": SDK_WORKERS,
                            "phase": phase,
                            "wall_s": round(rnd.uniform(1, 10), 3),
                            "tree_cpu_s": round(rnd.uniform(1, 10), 3),
                            "roles": {
                                "cli": {"cpu_s": rnd.uniform(0, 5), "peak_rss_mb": rnd.uniform(50, 90), "processes": 1},
                                "provider": {
                                    "cpu_s": rnd.uniform(0, 2),
                                    "peak_rss_mb": rnd.uniform(40, 70),
                                    "processes": 1,
                                },
                            },
                            "emulator_cpu_s": rnd.uniform(0, 1),
                            "requests": requests,
                            "requests_by_procedure": {},
                            "statuses": {"200": requests} if requests else {},
                            "load_1m_before": rnd.uniform(0, 4),
                            "profiles": {},
                            "repeat": rep,
                        }
                    )
    return out


META = {
    "pulumi_cli": "v0.0.0-test",
    "load_average_1_5_15_at_start": [1.0, 1.0, 1.0],
    "load_average_1_5_15_at_end": [2.0, 2.0, 2.0],
    "seconds": 10.0,
    "settings": {"parallel": None, "repeat": REPEATS, "cli_default_parallel": 8},
}


@pytest.fixture(scope="module")
def records() -> list[dict[str, Any]]:
    return _records()


@pytest.fixture(scope="module")
def report(records: list[dict[str, Any]]) -> dict[str, Any]:
    return build_report(records, [], META)


def _walls(records: list[dict[str, Any]], provider: str, n: int, phase: str, key: str = "wall_s") -> list[float]:
    return [r[key] for r in records if (r["provider"], r["n"], r["phase"]) == (provider, n, phase)]


def test_cells_are_medians_of_the_records(records: list[dict[str, Any]], report: dict[str, Any]) -> None:
    assert len(report["cells"]) == 2 * len(NS) * len(PHASES)
    for cell in report["cells"]:
        assert cell["repeats"] == REPEATS
        assert cell["wall_s"] == round(
            statistics.median(_walls(records, cell["provider"], cell["n"], cell["phase"])), 3
        )
        cpus = _walls(records, cell["provider"], cell["n"], cell["phase"], "tree_cpu_s")
        assert cell["tree_cpu_s"] == round(statistics.median(cpus), 3)
        assert cell["program_cpu_s"] is None  # no record measured a program: no figure
        floor_requests = expected_requests(cell["n"], cell["n"] // 4)[cell["phase"]]
        assert cell["floor_requests"] == floor_requests  # ours: measured; null: what it sleeps for
        assert cell["floor_s"] == round(floor_requests * LATENCY / SDK_WORKERS, 3)


def test_ours_over_null_is_computed_from_the_cells(report: dict[str, Any]) -> None:
    cells = {(c["provider"], c["n"], c["phase"]): c for c in report["cells"]}
    rows = report["comparison"]["rows"]
    assert {(r["n"], r["phase"]) for r in rows} == {(n, p) for n in NS for p in PHASES}
    for row in rows:
        ours, null = cells[("ours", row["n"], row["phase"])], cells[("null", row["n"], row["phase"])]
        assert row["ratio"] == round(ours["wall_s"] / null["wall_s"], 3)
        assert row["cpu_ratio"] == round(ours["tree_cpu_s"] / null["tree_cpu_s"], 3)
    (name,) = [k for k in report["comparison"]["targets"] if k.startswith("ours_over_null")]
    target = report["comparison"]["targets"][name]
    over = {f"N={r['n']} {r['phase']}": round(r["ratio"] - RATIO_TARGET, 3) for r in rows if r["ratio"] > RATIO_TARGET}
    assert target["missed_by"] == over and target["met"] is (not over)


def test_growth_is_computed_from_the_cells(report: dict[str, Any]) -> None:
    cells = {(c["provider"], c["n"], c["phase"]): c for c in report["cells"]}
    growth = report["comparison"]["growth"]
    assert len(growth) == 2 * len(PHASES)
    for g in growth:
        a, b = cells[(g["provider"], NS[0], g["phase"])], cells[(g["provider"], NS[1], g["phase"])]
        assert g["wall_ratio"] == round(b["wall_s"] / a["wall_s"], 3)
        assert g["resources_ratio"] == round((1 + NS[1] + NS[1] // 4) / (1 + NS[0] + NS[0] // 4), 3)


def test_request_check_compares_measured_with_expected(records: list[dict[str, Any]]) -> None:
    wrong = [
        dict(r, requests=r["requests"] + 1) if r["provider"] == "ours" and r["phase"] == "refresh" else r
        for r in records
    ]
    checks = build_report(wrong, [], META)["expected_requests_check"]
    bad = {k for k, v in checks.items() if v["expected"] != v["measured"]}
    assert bad == {f"N={n} refresh" for n in NS}
    assert "NO " in to_markdown(build_report(wrong, [], META))


def test_markdown_shows_every_row(report: dict[str, Any]) -> None:
    text = to_markdown(report)
    for row in report["comparison"]["rows"]:
        assert (
            f"| {row['n']} | 50 ms | {row['phase']} | {row['ours_wall_s']:.2f} | {row['null_wall_s']:.2f} | {row['ratio']:.3f} |"
            in text
        )


def test_summarize_rebuilds_the_same_report(report: dict[str, Any], tmp_path: Path) -> None:
    saved = tmp_path / "run.json"
    saved.write_text(json.dumps(report))
    records, sweep, meta = merge_saved([json.loads(saved.read_text())])
    again = build_report(records, sweep, meta)
    assert again["cells"] == report["cells"] and again["comparison"] == report["comparison"]
    # And through the command line, as README documents it.
    assert engine.main(["--summarize", str(saved), "--out", str(tmp_path / "out"), "--name", "again"]) == 0
    written = json.loads((tmp_path / "out" / "again.json").read_text())
    assert written["comparison"] == report["comparison"]
    assert (tmp_path / "out" / "again.md").read_text() == to_markdown(written)


def test_two_saved_runs_merge(records: list[dict[str, Any]]) -> None:
    first = build_report(records, [], META)
    second = build_report(_records(seed=8), [], {**META, "load_average_1_5_15_at_end": [3.0, 1.0, 1.0]})
    merged, _, meta = merge_saved([first, second])
    assert len(merged) == 2 * len(records)
    assert meta["load_average_1_5_15_at_end"] == [3.0, 2.0, 2.0] and meta["seconds"] == 20.0
    assert build_report(merged, [], meta)["cells"][0]["repeats"] == 2 * REPEATS


def _import_cost(ratio: float, loaded: list[str]) -> dict[str, Any]:
    """A made-up `import_cost.measure_import` result."""
    return {
        "statement": "from dokploy_pulumi import Project",
        "repetitions": 5,
        "pulumi_ms_median": 400.0,
        "added_ms": 50.0,
        "pulumi_cpu_ms": 300.0,
        "added_cpu_ms": round(300.0 * ratio, 1),
        "cpu_ratio_to_pulumi": ratio,
        "provider_packages_loaded": loaded,
        "added_self_ms_by_module": {"dokploy_pulumi._dotenv": 4.5, "html": 2.0},
    }


@pytest.mark.parametrize(
    ("ratio", "loaded", "met"),
    [(0.11, [], True), (IMPORT_RATIO_TARGET + 0.01, [], False), (0.11, ["httpx"], False)],
)
def test_import_target_is_the_measured_ratio(records: list[dict[str, Any]], ratio, loaded, met) -> None:
    report = build_report(records, [], {**META, "import_cost": _import_cost(ratio, loaded)})
    name = f"program_import_cpu_le_{IMPORT_RATIO_TARGET}_of_pulumi"
    target = report["comparison"]["targets"][name]
    assert target["met"] is met and target["ratio"] == ratio
    assert target["missed_by"] == (round(ratio - IMPORT_RATIO_TARGET, 3) if ratio > IMPORT_RATIO_TARGET else None)
    text = to_markdown(report)
    assert f"**{ratio:.3f} x `import pulumi`'s CPU**" in text and "dokploy_pulumi._dotenv 4.5" in text
    assert f"provider packages loaded: {', '.join(loaded) or 'none'}." in text
    # A saved run keeps its import measurement.
    _, _, meta = merge_saved([report])
    assert meta["import_cost"] == report["import_cost"]


def test_no_import_target_without_a_measurement(report: dict[str, Any]) -> None:
    assert not [k for k in report["comparison"]["targets"] if k.startswith("program_import")]
    assert "Program import" not in to_markdown(report)
