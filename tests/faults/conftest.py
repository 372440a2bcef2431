"""Fixtures for the fault table: one emulator and one real provider server for the whole session.

Every cell of the table (a fault injected into one operation of one resource) runs against the same
`DokployEmulator` (reset between cells) and the same `python -m pulumi.dynamic` process, configured
like a stack with `dokploy:timeout = 1` so that "slower than the timeout" costs about a second. The
outcome of each cell is collected here and printed as a markdown table at the end of the run; when
every cell ran, the table is also written to `tests/faults/fault_table.md` (for the README).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator, Optional

import pytest

from dokploy_pulumi.providers import ProjectProvider
from dokploy_pulumi.testing import DokployEmulator
from provider._harness import ProviderServer, blob_of

#: The client timeout every cell runs with (stack config `dokploy:timeout`), in seconds.
CLIENT_TIMEOUT = 1.0
TABLE_FILE = Path(__file__).resolve().parent / "fault_table.md"
FAULT_KEY = "dkp-fault-table-secret-key-0123456789"


LEGEND = """
- *ok after retry*: a GET failed once; the client retried it (backoff, jitter, Retry-After) and succeeded.
- *adopted*: a create's answer was lost; the provider found the one object it made (exact name, created
  since the request, not already managed) and adopted it: no duplicate, no orphan.
- *searched, nothing created*: the answer was lost or unreadable (dropped before commit, 2xx that is not
  JSON, a gateway's 502/504); the provider looked for the object for up to the client timeout, found
  none, and failed saying nothing was created.
- *verified gone* / *verified still exists*: a delete's answer was lost; the provider looked the object up.
- *rolled back*: an Environment's create had made the environment but setting its env failed; the
  provider removed it again. If even that is refused (*rollback refused*), the error names the orphan's
  id and how to adopt it (`adopt_id`).
- *applied anyway*: an update failed from Pulumi's view although the server applied it; state keeps the
  old outputs and the next `pulumi up` sends the same update again.
- Mutations (POST) are never retried once they may have reached the server. After every cell the
  emulator holds exactly the objects Pulumi state records.
"""


class FaultTable:
    """Outcomes by (fault, operation); the axes are declared by the test module."""

    def __init__(self) -> None:
        self.rows: list[str] = []
        self.columns: list[str] = []
        self.cells: dict[tuple[str, str], str] = {}

    def declare(self, rows: list[str], columns: list[str]) -> None:
        self.rows, self.columns = list(rows), list(columns)

    def record(self, row: str, column: str, outcome: str) -> None:
        self.cells[(row, column)] = outcome

    @property
    def complete(self) -> bool:
        return bool(self.rows) and all((r, c) in self.cells for r in self.rows for c in self.columns)

    def markdown(self) -> str:
        head = "| fault \\ operation | " + " | ".join(self.columns) + " |"
        rule = "|---" * (len(self.columns) + 1) + "|"
        lines = [head, rule]
        for row in self.rows:
            cells = [self.cells.get((row, c), "(not run)") for c in self.columns]
            lines.append(f"| {row} | " + " | ".join(cells) + " |")
        return "\n".join(lines) + "\n"


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


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # noqa: ARG001
    if not _TABLE.cells:
        return
    text = _TABLE.markdown()
    terminalreporter.section("Dokploy fault table (fault x operation -> outcome)")
    terminalreporter.write(text)
    written: Optional[str] = None
    if _TABLE.complete:
        TABLE_FILE.write_text(
            "<!-- Generated by `pytest tests/faults`; do not edit by hand. -->\n"
            f"Client timeout {CLIENT_TIMEOUT:g} s; each fault hits the first matching request only "
            "(the 401 trap: the key is refused from the faulted request on).\n\n" + text + LEGEND
        )
        written = str(TABLE_FILE)
    if written:
        terminalreporter.write_line(f"(written to {written})")
    else:
        terminalreporter.write_line("(partial run: tests/faults/fault_table.md not rewritten)")
