"""Fixtures for the fault table: one emulator and one real provider server for the whole session.

Every cell of the table (a fault injected into one operation of one resource) runs against the same
`DokployEmulator` (reset between cells) and the same `python -m pulumi.dynamic` process, configured
like a stack with `dokploy:timeout = 1` so that "slower than the timeout" costs about a second. The
outcome of each cell is collected here and printed as a markdown table at the end of the run; when
the run is checked, not written: each cell asserts its outcome equals the expectation in
test_fault_table.py, and `test_fault_table_document_is_current` checks that
`tests/faults/fault_table.md` and the README's copy equal the table those expectations give.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from _table import FaultTable

from dokploy_pulumi.providers import ProjectProvider
from dokploy_pulumi.testing import DokployEmulator
from dokploy_pulumi.testing.provider_server import ProviderServer, blob_of

#: The client timeout every cell runs with (stack config `dokploy:timeout`), in seconds.
CLIENT_TIMEOUT = 1.0
FAULT_KEY = "dkp-fault-table-secret-key-0123456789"


_TABLE = FaultTable()


@pytest.fixture(scope="session")
def fault_table() -> FaultTable:
    return _TABLE


@pytest.fixture(scope="session")
def fault_client_timeout() -> float:
    return CLIENT_TIMEOUT


@pytest.fixture(scope="session")
def fault_emulator() -> Iterator[DokployEmulator]:
    with DokployEmulator(api_key=FAULT_KEY) as emu:
        yield emu


@pytest.fixture(scope="session")
def fault_server(fault_emulator: DokployEmulator) -> Iterator[ProviderServer]:
    """One provider process, configured through stack config only (no DOKPLOY_* variables)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOKPLOY_")}
    with ProviderServer(env=env) as srv:
        srv.configure(
            {
                "dokploy:url": fault_emulator.url,
                "dokploy:apiKey": fault_emulator.api_key,
                "dokploy:timeout": str(CLIENT_TIMEOUT),
            }
        )
        # The 401 row is the rate-limit trap: a key that worked earlier in this provider process.
        # Make it so whichever cell runs first (e.g. with -k).
        inputs, failures = srv.check({}, {"__provider": blob_of(ProjectProvider()), "name": "warm-up"})
        assert failures == []
        srv.create(inputs)
        fault_emulator.reset()
        yield srv


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if not _TABLE.cells:
        return
    terminalreporter.section("Dokploy fault table (fault x operation -> outcome), as observed")
    terminalreporter.write(_TABLE.markdown())
