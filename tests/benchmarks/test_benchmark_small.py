"""The benchmark's code path (benchmarks/run.py) at N=3 and no latency.

Asserts only what does not depend on the machine: API requests per operation equal to the
minimum the API allows (for the providers through the SDK's gRPC server, and for the bare client
that defines the minimum), the size of the `__provider` blob, and that every derived figure of
the report (ratios, medians, sums) is the one its measured inputs give. Never asserts a time.
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.calls_report import BLOB_LIMIT_BYTES, TIME_RATIO_LIMIT, render_markdown  # noqa: E402
from benchmarks.calls_runs import run_benchmark  # noqa: E402
from benchmarks.calls_workload import OPS  # noqa: E402


@pytest.fixture(scope="module")
def report():
    return run_benchmark(n=3, latency=0.0, concurrency=4, repeat=1, warmup=1, import_reps=0)


@pytest.mark.parametrize("op", OPS, ids=[op.key for op in OPS])
def test_requests_per_operation_equal_the_minimum(report, op):
    row = report["operations"][op.key]
    expected = {procedure: float(count) for procedure, count in op.minimum.items()}
    for mode in ("provider", "bare"):
        got = row[mode]
        assert got["requests_by_procedure_per_op"] == expected, mode
        assert got["requests_per_op"] == sum(op.minimum.values()), mode
        assert set(got["statuses"]) == {"200"}, mode
    assert report["targets"]["requests_equal_minimum"]["operations"][op.key]["met"]


def test_provider_blob_is_small(report):
    for kind, sizes in report["state_bytes"].items():
        assert 0 < sizes["provider_blob_bytes"] < BLOB_LIMIT_BYTES, kind
        # The blob the server stored in the outputs is the one the SDK produced.
        assert sizes["after_update"]["provider_blob_bytes"] == sizes["provider_blob_bytes"], kind
    assert report["targets"]["provider_blob_under_200_bytes"]["met"]


def test_ratios_and_totals_are_computed_from_the_measured_times(report):
    """Every derived figure is the one its measured inputs give (never a figure typed in)."""
    ops = report["operations"]
    for key, o in ops.items():
        p, b = o["provider"], o["bare"]
        assert o["wall_ratio"] == round(p["wall_s"] / b["wall_s"], 4), key
        assert p["wall_s"] == round(statistics.median(p["wall_s_runs"]), 4), key
        assert p["wall_ms_per_op"] == round(p["wall_s"] / p["count"] * 1000, 3), key
        assert p["call_ms_p50"] <= p["call_ms_p95"], key
    for phase, ph in report["phases"].items():
        runs = list(zip(ph["provider_wall_s_runs"], ph["bare_wall_s_runs"], strict=True))
        assert len(runs) == report["config"]["repeat"]
        assert ph["ratio"] == round(ph["provider_wall_s"] / ph["bare_wall_s"], 4), phase
        for mode in ("provider", "bare"):
            # A phase's run is the sum of its operations' times in that run.
            per_run = [
                sum(o[mode]["wall_s_runs"][i] for o in ops.values() if o["phase"] == phase) for i in range(len(runs))
            ]
            assert ph[f"{mode}_wall_s_runs"] == pytest.approx(per_run, abs=1e-3), (phase, mode)
    total = report["total"]
    assert total["ratio"] == round(total["provider_wall_s"] / total["bare_wall_s"], 4)


def test_stored_blob_is_measured_in_inputs_and_outputs(report):
    for kind, sizes in report["state_bytes"].items():
        # Measured in the structs the server returned: once in the inputs, once in the outputs.
        assert sizes["provider_blob_bytes_stored_per_resource"] == 2 * sizes["provider_blob_bytes"], kind


def test_markdown_renders_the_report(report):
    text = render_markdown(report)
    for key, o in report["operations"].items():
        assert f"| {key} | {o['provider']['count']} | " in text
    assert f"target ≤ {TIME_RATIO_LIMIT:g}" in text
