"""Fixtures every tier shares: the emulator plugin, and the Dokploy a test runs against.

`backend` is a fresh `DokployEmulator` per test, or, when DOKPLOY_URL and DOKPLOY_API_KEY are set
(the real tier, `bash scripts/test-real.sh`), the real server behind a recording proxy (see
_backend.py). Tests name what they create with `_backend.n("app")` (the run's prefix, "" against the
emulator), so that on a shared real server a test finds its own objects and the session removes
them afterwards.
"""

from __future__ import annotations

from typing import Any, Iterator

import pytest

from _backend import AGAINST_REAL, HOOK_SKIP_REASON, PREFIX, REAL_KEY, REAL_URL, RealBackend

pytest_plugins = ["dokploy_pulumi.testing.pytest_plugin"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not AGAINST_REAL:
        return
    skip = pytest.mark.skip(reason=HOOK_SKIP_REASON)
    for item in items:
        if item.get_closest_marker("hook"):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def real_backend() -> Iterator[RealBackend]:
    backend = RealBackend(REAL_URL, REAL_KEY, PREFIX)
    try:
        yield backend
    finally:
        backend.close()  # removes every project of this run, also after failures


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> Iterator[Any]:
    """The server under test: a fresh emulator, or the real server (see the module docstring)."""
    if AGAINST_REAL:
        real = request.getfixturevalue("real_backend")
        real.reset_requests()
        yield real
        return
    from dokploy_pulumi.testing import DokployEmulator

    with DokployEmulator() as emulator:
        yield emulator
