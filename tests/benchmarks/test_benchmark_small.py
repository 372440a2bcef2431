"""The benchmark's code path (benchmarks/run.py) at N=3 and no latency.

Asserts only what does not depend on the machine: API requests per operation equal to the
minimum the API allows (for the providers through the SDK's gRPC server, and for the bare client
that defines the minimum), and the size of the `__provider` blob. Never times.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.run import BLOB_LIMIT_BYTES, OPS, run_benchmark  # noqa: E402


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
