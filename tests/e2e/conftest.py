"""Fixtures for e2e tests that run real Pulumi programs with the real CLI.

`pulumi_bin_dir` provides the CLI through scripts/install-pulumi.sh; `pulumi_stack` makes a
`PulumiStack` for a program folder, isolated in the test's tmp_path.

tests/e2e has no __init__.py on purpose: pytest's default import mode then puts this folder on
sys.path, which is how `_pulumi` is imported here and by the tests.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Optional

import pytest
from _backend import AGAINST_REAL, REAL_TIMEOUT
from _postgres import PostgresServer
from _pulumi import (
    COMMAND_TIMEOUT,
    COMMAND_TIMEOUT_REAL,
    INSTALL_TIMEOUT,
    PulumiStack,
    PulumiStackFactory,
    cli_ready,
    install_pulumi,
)

E2E_DIR = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    e2e_items = [item for item in items if E2E_DIR in Path(str(item.path)).parents]
    for item in e2e_items:
        item.add_marker(pytest.mark.e2e)
    # pytest-timeout also times fixture setup, and the first e2e test sets up `pulumi_bin_dir`:
    # when the CLI still has to be built from Go modules, give that one test the build's time.
    if e2e_items and not cli_ready():
        e2e_items[0].add_marker(pytest.mark.timeout(INSTALL_TIMEOUT), append=False)


@pytest.fixture(scope="session")
def pulumi_bin_dir() -> Path:
    """The folder holding `pulumi` and its Python plugins (built on first use)."""
    return install_pulumi()


@pytest.fixture
def pulumi_stack(pulumi_bin_dir: Path, tmp_path: Path) -> PulumiStackFactory:
    """`pulumi_stack(program_dir, env=None, stack="e2e")`: a new, not yet initialised stack.

    Each call gets its own folder under tmp_path (state, PULUMI_HOME, program copy).
    """
    counter = 0

    def make(
        program_dir: Path,
        env: Optional[Mapping[str, Optional[str]]] = None,
        stack: str = "e2e",
    ) -> PulumiStack:
        nonlocal counter
        counter += 1
        timeout = COMMAND_TIMEOUT_REAL if AGAINST_REAL else COMMAND_TIMEOUT
        if AGAINST_REAL:
            # The provider's request timeout there (see REAL_TIMEOUT), unless the test gives one;
            # the tests clear every ambient DOKPLOY_ variable (None), this one included.
            env = dict(env or {})
            if env.get("DOKPLOY_TIMEOUT") is None:
                env["DOKPLOY_TIMEOUT"] = str(REAL_TIMEOUT)
        return PulumiStack(
            program_dir, tmp_path / f"stack-{counter}", pulumi_bin_dir, stack=stack, env=env, timeout=timeout
        )

    return make


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL 15 for the session (~1.5 s to start); `backend_url()` gives each caller a
    table, so a backend, of its own."""
    with PostgresServer() as server:
        yield server
