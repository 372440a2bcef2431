"""The null provider stands for ours in everything but HTTP: the requests it sleeps for are the
workload's spec, and it lifts the SDK's worker cap in `configure` as ours does."""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import pytest
from pulumi.dynamic import ConfigureRequest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import engine_null  # noqa: E402
from benchmarks.engine_workload import WORKERS_ENV, expected_requests  # noqa: E402

SERVER_MAIN = SimpleNamespace(__spec__=SimpleNamespace(name="pulumi.dynamic.__main__"))


def _configure_in_a_worker(monkeypatch: pytest.MonkeyPatch) -> int:
    """Configure a null provider from a worker of a 4-thread pool, as the SDK's server does; the cap after."""
    monkeypatch.setitem(sys.modules, "__main__", SERVER_MAIN)  # as in `python -m pulumi.dynamic`
    with ThreadPoolExecutor(max_workers=4) as pool:
        pool.submit(engine_null.NullProjectProvider().configure, ConfigureRequest(None)).result()
        return int(pool._max_workers)


def test_configure_leaves_the_cap_without_the_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(WORKERS_ENV, raising=False)
    assert _configure_in_a_worker(monkeypatch) == 4


def test_configure_lifts_the_cap_with_the_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(WORKERS_ENV, "8")
    assert _configure_in_a_worker(monkeypatch) == 8


def test_null_sleeps_once_per_request_ours_makes(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr(engine_null.time, "sleep", slept.append)
    monkeypatch.setenv("ENGINE_BENCH_LATENCY", "0.05")
    providers = {
        "Project": engine_null.NullProjectProvider(),
        "Environment": engine_null.NullEnvironmentProvider(),
        "EnvironmentDuplicate": engine_null.NullEnvironmentDuplicateProvider(),
    }
    n, duplicates = 4, 1
    counts = {"Project": 1, "Environment": n, "EnvironmentDuplicate": duplicates}
    for kind, provider in providers.items():
        for _ in range(counts[kind]):
            provider.create({"name": "x"})
    assert slept == [0.05] * expected_requests(n, duplicates)["create"]
