"""Fixtures every tier shares: the emulator plugin, and the Dokploy a test runs against.

`backend` is a fresh `DokployEmulator` per test (imitating DOKPLOY_EMULATOR_VERSION, e.g. v0.26.7,
when set; v0.30.2 otherwise), or, when DOKPLOY_URL and DOKPLOY_API_KEY are set
(the real tier, `bash scripts/test-real.sh`), the real server behind a recording proxy (see
_backend.py). Tests name what they create with `_backend.n("app")` (the run's and the test's
prefix on a real server, nothing on the emulator), so that on a shared real server a test finds
only its own objects, and what it made is removed when it ends. Against a real server, tests that
never reach the server under test are deselected (they run in the emulator tier).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from _backend import AGAINST_REAL, EMULATOR_VERSION, HOOK_SKIP_REASON, PREFIX, REAL_KEY, REAL_URL, RealBackend

# _xdist_stop: a stop (SIGINT) of an xdist run (the real tier's two workers, the emulator tiers') lets
# the workers' finalizers end (see there).
pytest_plugins = ["dokploy_pulumi.testing.pytest_plugin", "_xdist_stop"]

_test_numbers = itertools.count(1)


#: The fixtures through which a test reaches the server under test (tests/conformance's `target`).
SERVER_FIXTURES = frozenset({"backend", "real_backend", "target"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not AGAINST_REAL:
        return
    # Against a real server, a test that never reaches it (an echo server, the SDK's hooks, pure
    # tables) would only repeat its emulator-tier run: it is deselected, and pytest counts it so.
    free = [item for item in items if not SERVER_FIXTURES & set(getattr(item, "fixturenames", ()))]
    if free:
        config.hook.pytest_deselected(items=free)
        items[:] = [item for item in items if item not in free]
    for item in items:
        hook = item.get_closest_marker("hook")
        # A suite with its own skip for hooks (tests/conformance) keeps its own reason.
        if hook and not item.get_closest_marker("skip"):
            # `@pytest.mark.hook("inject_fault")` names the hook the test needs.
            named = f" (this one: {', '.join(map(str, hook.args))})" if hook.args else ""
            item.add_marker(pytest.mark.skip(reason=HOOK_SKIP_REASON + named))


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
        real.begin_test(f"t{next(_test_numbers)}")
        try:
            yield real
        finally:
            real.end_test()
        return
    from dokploy_pulumi.testing import DokployEmulator

    options = {"version": EMULATOR_VERSION} if EMULATOR_VERSION else {}
    with DokployEmulator(**options) as emulator:
        yield emulator
