"""The engine-level benchmark's code path (benchmarks/engine.py) at N=4, no latency, through the real CLI.

Asserts only what does not depend on the machine: the requests each phase makes, by procedure,
for our provider (equal to what the null provider is told to wait for), none at all at
`pulumi preview`, that every phase of both providers ran and was measured, and that ours / null
is computed from the measured records. Never asserts a time.
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.engine_runs import run_benchmark  # noqa: E402
from benchmarks.engine_workload import PHASES, expected_requests  # noqa: E402

N = 4
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

# What our provider sends per phase for 1 Project (description, env), N Environments with env and
# N/4 EnvironmentDuplicates with env (README, "What each operation costs").
EXPECTED_BY_PROCEDURE = {
    "create": {
        "project.create": 1,
        "environment.create": N,
        "environment.update": N + N // 4,
        "environment.duplicate": N // 4,
    },
    "preview": {},
    "refresh": {"project.one": 1, "environment.one": N + N // 4},
    "update": {"project.update": 1, "environment.update": N + N // 4},
    "destroy": {"project.one": 1, "project.remove": 1, "environment.one": N + N // 4, "environment.remove": N + N // 4},
}


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return run_benchmark(ns=[N], latencies=[0.0], repeat=1, work_root=tmp_path_factory.mktemp("engine"), progress=False)


@pytest.mark.parametrize("phase", PHASES)
def test_our_requests_per_phase(report: dict, phase: str) -> None:
    (rec,) = [r for r in report["records"] if r["provider"] == "ours" and r["phase"] == phase]
    assert rec["requests_by_procedure"] == EXPECTED_BY_PROCEDURE[phase]
    assert rec["requests"] == expected_requests(N, N // 4)[phase]
    assert set(rec["statuses"]) <= {"200"}


def test_preview_makes_no_request(report: dict) -> None:
    previews = [r for r in report["records"] if r["phase"] == "preview"]
    assert previews and all(r["requests"] == 0 for r in previews)
    assert report["comparison"]["targets"]["preview_makes_no_request"]["met"]


def test_null_provider_makes_no_request(report: dict) -> None:
    for rec in report["records"]:
        if rec["provider"] == "null":
            assert rec["requests"] == 0, rec["phase"]


def test_every_phase_was_measured(report: dict) -> None:
    for provider in ("ours", "null"):
        for phase in PHASES:
            (rec,) = [r for r in report["records"] if r["provider"] == provider and r["phase"] == phase]
            assert rec["roles"].get("provider", {}).get("processes", 0) >= 1, (provider, phase)
            if phase in ("create", "preview", "update"):  # refresh and destroy do not run the program
                assert rec["roles"].get("program", {}).get("processes", 0) >= 1, (provider, phase)
    assert {r["phase"] for r in report["comparison"]["rows"]} == set(PHASES)


def test_ours_over_null_is_computed_from_the_records(report: dict) -> None:
    """The comparison's figures are the medians of the measured records and their ratios."""

    def measured(provider: str, phase: str, key: str) -> float:
        values = [r[key] for r in report["records"] if r["provider"] == provider and r["phase"] == phase]
        return round(statistics.median(values), 3)

    for row in report["comparison"]["rows"]:
        phase = row["phase"]
        assert row["ours_wall_s"] == measured("ours", phase, "wall_s")
        assert row["null_wall_s"] == measured("null", phase, "wall_s")
        assert row["ratio"] == round(row["ours_wall_s"] / row["null_wall_s"], 3)
        assert row["cpu_ratio"] == round(
            measured("ours", phase, "tree_cpu_s") / measured("null", phase, "tree_cpu_s"), 3
        )
        assert row["requests"] == expected_requests(N, N // 4)[phase]
