"""Fixtures for the client conformance suite: the same tests against the emulator or a real Dokploy.

By default every test runs once per release the emulator was checked against real servers for
(`dokploy_pulumi.testing.TESTED_VERSIONS`: v0.30.2, v0.26.7, v0.25.11), against a `DokployEmulator`
imitating it; `DOKPLOY_CONFORMANCE_VERSIONS="v0.28.5 v0.29.13"` runs other releases instead. With both `DOKPLOY_URL` and `DOKPLOY_API_KEY` set, the tests run once, against that server
instead; then

- every object the suite creates is named with a per-run prefix (`dpc-<hex>-`); each test removes
  the projects it created when it ends, and a final sweep removes anything left with that prefix;
- tests marked `@pytest.mark.hook` (they need an emulator-only hook: services, legacy mode, faults,
  extra API keys, the request log) are skipped with a reason.

The suite describes each release's contract: `target.release` is what the server says it is
(`settings.getDokployVersion`), and where releases differ a test asserts what *that* release does.
No test assumes an empty server: they look only at objects they created (by id or by prefix).
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import httpx
import pytest
from _backend import REAL_TIMEOUT
from _contract import Release

from dokploy_pulumi import DokployClient, DokployError, NotFoundError
from dokploy_pulumi._client import OMIT, normalize_url
from dokploy_pulumi._models import ProjectCreateResult
from dokploy_pulumi.testing import TESTED_VERSIONS

CONFORMANCE_DIR = Path(__file__).resolve().parent
REAL_URL = os.environ.get("DOKPLOY_URL") or ""
REAL_KEY = os.environ.get("DOKPLOY_API_KEY") or ""
AGAINST_REAL = bool(REAL_URL and REAL_KEY)
EMULATOR_KEY = "dkp-conformance-secret-key-0123456789"
EMULATED_RELEASES = tuple(os.environ.get("DOKPLOY_CONFORMANCE_VERSIONS", "").split()) or TESTED_VERSIONS
HOOK_SKIP_REASON = (
    "uses an emulator-only test hook (services, legacy mode, faults, rate limits, extra keys or the "
    "request log); skipped because DOKPLOY_URL/DOKPLOY_API_KEY point the suite at a real Dokploy"
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not AGAINST_REAL:
        return
    skip = pytest.mark.skip(reason=HOOK_SKIP_REASON)
    for item in items:
        if CONFORMANCE_DIR in Path(str(item.path)).parents and item.get_closest_marker("hook"):
            item.add_marker(skip)


@dataclass
class Target:
    """The server under test: its URL and key, its release, and the emulator when it is one."""

    url: str
    api_key: str
    release: Release
    emulator: Any = None  # DokployEmulator, or None against a real server

    @property
    def base(self) -> str:
        """`<url>/api/`, whatever form the URL was given in."""
        return normalize_url(self.url)


def _release_of(url: str, api_key: str) -> Release:
    answer = httpx.get(
        normalize_url(url) + "settings.getDokployVersion", headers={"x-api-key": api_key}, timeout=REAL_TIMEOUT
    )
    answer.raise_for_status()
    return Release(str(answer.json()))


@pytest.fixture(scope="session", params=["real"] if AGAINST_REAL else [f"emulator-{v}" for v in EMULATED_RELEASES])
def target(request: pytest.FixtureRequest) -> Iterator[Target]:
    if AGAINST_REAL:
        yield Target(REAL_URL, REAL_KEY, _release_of(REAL_URL, REAL_KEY))
        return
    from dokploy_pulumi.testing import DokployEmulator

    version = request.param.removeprefix("emulator-")
    with DokployEmulator(api_key=EMULATOR_KEY, version=version) as emulator:
        release = _release_of(emulator.url, emulator.api_key)
        assert release.version == version
        yield Target(emulator.url, emulator.api_key, release, emulator)


@pytest.fixture(scope="session")
def release(target: Target) -> Release:
    return target.release


@pytest.fixture
def emulator(target: Target) -> Iterator[Any]:
    """The session's emulator, for `hook` tests; faults, latency and rate limits are undone after."""
    if target.emulator is None:
        pytest.skip(HOOK_SKIP_REASON)
    emu = target.emulator
    yield emu
    emu.clear_faults()
    emu.latency = 0.0
    emu.rate_limit_after(None, api_key=emu.api_key)


def make_client(url: str, api_key: str, **kw: Any) -> DokployClient:
    options: dict[str, Any] = dict(timeout=REAL_TIMEOUT, max_retries=2, backoff=0.01, max_backoff=0.1)
    options.update(kw)
    return DokployClient(url, api_key, **options)


@pytest.fixture(scope="session")
def prefix(target: Target) -> str:
    """A per-run name prefix; no `%` or `_`, which `search` would treat as wildcards."""
    return f"dpc-{secrets.token_hex(4)}-"


@pytest.fixture
def uprefix(prefix: str) -> str:
    """The run's prefix plus a per-test part, for tests that search by name."""
    return f"{prefix}{secrets.token_hex(3)}-"


@pytest.fixture(scope="session")
def created_projects(target: Target) -> set[str]:
    return set()


@pytest.fixture(scope="session")
def client(target: Target, prefix: str, created_projects: set[str]) -> Iterator[DokployClient]:
    c = make_client(target.url, target.api_key)
    yield c
    _cleanup(c, prefix, created_projects)
    c.close()


def _cleanup(c: DokployClient, prefix: str, created: set[str]) -> None:
    """Remove every project this run created, and anything else still named with its prefix."""
    ids = set(created)
    try:
        ids.update(p.project_id for p in c.project.all() if p.name.startswith(prefix))
    except Exception:  # cleanup is best effort; the ids we know of are still removed
        pass
    for project_id in ids:
        with contextlib.suppress(NotFoundError):
            c.project.remove(project_id)


@pytest.fixture
def track(client: DokployClient, created_projects: set[str]) -> Iterator[Callable[[str], str]]:
    """`track(project_id)`: a project this test made, removed when the test ends.

    Removing per test keeps the session's teardown short on a slow server; what a test could not
    remove stays in `created_projects` for the session's final sweep.
    """
    mine: list[str] = []

    def add(project_id: str) -> str:
        mine.append(project_id)
        created_projects.add(project_id)
        return project_id

    yield add
    for project_id in mine:
        try:
            client.project.remove(project_id)
        except NotFoundError:
            pass
        except DokployError:
            continue  # left for the final sweep
        created_projects.discard(project_id)


@pytest.fixture
def make_project(client: DokployClient, prefix: str, track: Callable[[str], str]) -> Callable[..., ProjectCreateResult]:
    """`make_project(suffix="p", description=OMIT, env=OMIT)`: project.create with a prefixed name."""

    def make(suffix: str = "p", *, description: Any = OMIT, env: Any = OMIT) -> ProjectCreateResult:
        result = client.project.create(prefix + suffix, description=description, env=env)
        track(result.project.project_id)
        return result

    return make


@pytest.fixture
def raw(target: Target) -> Iterator[httpx.Client]:
    """A bare httpx client on `<url>/api/` with the key: for what the client never sends."""
    with httpx.Client(base_url=target.base, headers={"x-api-key": target.api_key}, timeout=REAL_TIMEOUT) as http:
        yield http


@pytest.fixture
def missing_id() -> str:
    """An id no server issued (21 characters, like a nanoid)."""
    return "zz" + secrets.token_hex(10)[:19]


@pytest.fixture
def new_client(target: Target) -> Iterator[Callable[..., DokployClient]]:
    """`new_client(url=None, api_key=None, **options)`: another client on the server under test."""
    made: list[DokployClient] = []

    def make(url: Optional[str] = None, api_key: Optional[str] = None, **kw: Any) -> DokployClient:
        c = make_client(url or target.url, api_key or target.api_key, **kw)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()
