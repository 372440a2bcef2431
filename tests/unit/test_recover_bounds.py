"""`recover` records an object only when a proven start of the interrupted update shows it was made
after it, compared on Dokploy's clock; the proof survives a failed run (issue 19, case 1).

The server is the emulator (its clock can be put ahead or behind this machine's, as a real
server's can); the Pulumi CLI is a double that serves a checkpoint and records the commands.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any, Optional

import pytest
from test_import_recover import FakeCLI

from dokploy_pulumi import DokployClient
from dokploy_pulumi import _recover as rec
from dokploy_pulumi._pulumi_cli import CommandFailed
from dokploy_pulumi.testing import DokployEmulator

KEY = "recover-bounds-key-0123456789"
STACK_URN = "urn:pulumi:dev::app::pulumi:pulumi:Stack::app-dev"
FQ_STACK = "organization/app/dev"


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")


def _op(logical: str, name: str) -> dict[str, Any]:
    urn = f"urn:pulumi:dev::app::{rec.PROJECT_T}::{logical}"
    inputs = {"__provider": "blob", "name": name, "description": "declared", "env": {"A": "declared"}}
    return {"type": "creating", "resource": {"urn": urn, "type": rec.PROJECT_T, "custom": True, "inputs": inputs}}


def _exported(*ops: dict[str, Any]) -> dict[str, Any]:
    return {"version": 3, "deployment": {"resources": [{"urn": STACK_URN}], "pending_operations": list(ops)}}


class CLI(FakeCLI):
    """The Pulumi CLI double, with a file backend whose lock the killed CLI left (`cancel` removes
    it) and a `stack import` that can be made to fail."""

    def __init__(self, root: Path, exported: dict, url: str, history: Optional[list] = None) -> None:
        super().__init__(exported, {"dokploy:url": url, "dokploy:apiKey": KEY}, f"file://{root}", history)
        self.root = root
        self.fail_import = False

    def lock(self, moment: dt.datetime) -> None:
        folder = self.root / ".pulumi" / "locks" / FQ_STACK
        folder.mkdir(parents=True, exist_ok=True)
        dead = subprocess.Popen([sys.executable, "-c", "pass"])
        dead.wait()
        data = {"pid": dead.pid, "hostname": socket.gethostname(), "timestamp": _iso(moment)}
        (folder / "lock.json").write_text(json.dumps(data))

    def locked(self) -> bool:
        return any((self.root / ".pulumi" / "locks").rglob("*.json"))

    def run(self, *args: str, check: bool = True, stack_scoped: bool = True):
        if args[:1] == ("cancel",):
            for path in (self.root / ".pulumi" / "locks").rglob("*.json"):
                path.unlink()
        return super().run(*args, check=check, stack_scoped=stack_scoped)

    def import_state(self, deployment):
        if self.fail_import:
            self.commands.append(("stack", "import"))
            raise CommandFailed("`pulumi stack import` failed: (double)")
        super().import_state(deployment)
        self.exported = json.loads(json.dumps(deployment))


@pytest.fixture
def emu():
    with DokployEmulator(api_key=KEY) as e:
        yield e


def _clients(emu: DokployEmulator):
    server = rec.Server(DokployClient(emu.url, KEY))
    return lambda connection: server


@pytest.mark.parametrize("offset", [-30.0, 0.0, 30.0])
def test_the_lock_time_is_placed_on_the_servers_clock(emu, offset):
    """An object made by hand 3 s before the update started (by the server's clock, whichever way
    the clocks differ) is never recorded; the one the update made after it is."""
    emu.clock_offset = offset
    lock_time = dt.datetime.now(dt.timezone.utc)  # this machine's clock, as Pulumi writes it
    server_start = lock_time + dt.timedelta(seconds=offset)
    hand = emu.create_project("shop")["projectId"]
    emu.set_project_fields(hand, createdAt=_iso(server_start - dt.timedelta(seconds=3)))
    made = emu.create_project("shop")["projectId"]
    emu.set_project_fields(made, createdAt=_iso(server_start + dt.timedelta(milliseconds=5)))
    bound = rec.StartBound(lock_time, "lock")
    tight = rec.decide(_op("shop", "shop"), set(), bound, _clients(emu), margin=0.0)
    assert (tight.action, [c.id for c in tight.candidates]) == ("import", [made])
    # Within the allowance before the bound it is neither taken nor ruled out: listed.
    wide = rec.decide(_op("shop", "shop"), set(), bound, _clients(emu), margin=120.0)
    assert wide.action == "ambiguous" and {c.id for c in wide.candidates} == {hand, made}
    # Compared on this machine's clock instead, a server 30 s ahead would have let the hand-made
    # object through; 30 s behind would have hidden the one the update made.
    naive = {
        p["projectId"] for p in emu.projects() if dt.datetime.fromisoformat(p["createdAt"][:-1] + "+00:00") >= lock_time
    }
    assert naive != {made} or offset == 0.0


def test_no_proven_start_lists_with_created_at_and_since_decides(emu):
    hand = emu.create_project("shop")["projectId"]
    emu.set_project_fields(hand, createdAt="2026-01-01T00:00:00.000Z")
    d = rec.decide(_op("shop", "shop"), set(), rec.UNPROVEN, _clients(emu))
    assert d.action == "unproven" and [(c.id, c.created_at) for c in d.candidates] == [
        (hand, "2026-01-01T00:00:00.000Z")
    ]
    since = rec.StartBound(dt.datetime(2026, 6, 1, tzinfo=dt.timezone.utc), "--since", server_clock=True)
    d = rec.decide(_op("shop", "shop"), set(), since, _clients(emu), margin=0.0)
    assert d.action == "clear" and hand in d.reason and not d.candidates
    # No object of the name at all: provably nothing was made, with or without a bound.
    assert rec.decide(_op("x", "other"), set(), rec.UNPROVEN, _clients(emu)).action == "clear"


def test_only_a_start_is_a_bound_never_the_end_of_an_earlier_update(tmp_path):
    ended = [{"startTime": "2026-01-01T00:00:00Z", "endTime": "2026-01-01T00:01:00Z"}]
    cli = CLI(tmp_path, _exported(), "http://127.0.0.1:1", history=ended)
    assert rec.start_bounds(["u"], [], {}, cli, None) == {"u": rec.UNPROVEN}
    running = [{"startTime": "2026-02-01T00:00:00Z"}, *ended]
    cli.history = running
    bound = rec.start_bounds(["u"], [], {}, cli, None)["u"]
    assert bound.moment == dt.datetime(2026, 2, 1, tzinfo=dt.timezone.utc) and "in progress" in bound.source
    cli.lock(dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc))
    locks = rec.file_backend_locks(cli.backend_url(), FQ_STACK)
    marker = {"m": rec.StartBound(dt.datetime(2026, 2, 15, tzinfo=dt.timezone.utc), "kept")}
    bounds = rec.start_bounds(["u", "m"], locks, marker, cli, None)
    assert bounds["u"].moment == dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc) and bounds["m"] is marker["m"]
    since = dt.datetime(2026, 4, 1, tzinfo=dt.timezone.utc)
    assert {b.moment for b in rec.start_bounds(["u", "m"], locks, marker, cli, since).values()} == {since}


def test_the_lock_goes_only_after_every_read_and_its_time_survives_a_failed_import(emu, tmp_path):
    before = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=5)
    hand = emu.create_project("shop")["projectId"]
    emu.set_project_fields(hand, createdAt=_iso(before - dt.timedelta(days=30)))
    made = emu.create_project("shop", env="A=server")["projectId"]
    cli = CLI(tmp_path / "backend", _exported(_op("shop", "shop")), emu.url)
    cli.lock(before)
    folder = tmp_path / "project"
    folder.mkdir()
    run = dict(stack="dev", apply=True, clock_skew=120, cli=cli, cwd=folder)

    # The read of the object to record fails: no cancel, no import, no backup; the lock stays.
    emu.inject_fault("project.one", status=401, body={"message": "Unauthorized"}, times=20)
    with pytest.raises(rec.RecoverFailed, match="reading .* failed, nothing was changed"):
        rec.main(out=io.StringIO(), **run)
    emu.clear_faults()
    assert cli.locked() and not any(c[:1] == ("cancel",) or c[:2] == ("stack", "import") for c in cli.commands)
    assert list(folder.iterdir()) == []

    # The import fails after the lock was removed: the lock's time is in the marker.
    cli.fail_import = True
    with pytest.raises(CommandFailed, match="stack import"):
        rec.main(out=io.StringIO(), **run)
    assert not cli.locked() and cli.imported is None
    assert [c[:2] for c in cli.commands if c[:1] == ("cancel",) or c[:2] == ("stack", "import")] == [
        ("cancel", "--yes"),
        ("stack", "import"),
    ]
    markers = list(folder.glob("dokploy-recover-bound-*.json"))
    assert len(markers) == 1 and json.loads(markers[0].read_text())["stack"] == FQ_STACK

    # The next run proves the start from the marker; the record holds what the server holds.
    cli.fail_import = False
    out = io.StringIO()
    assert rec.main(out=out, **run) == 0, out.getvalue()
    assert "kept in dokploy-recover-bound-" in out.getvalue()
    added = cli.imported["deployment"]["resources"][-1]
    assert added["id"] == made and added["outputs"]["env"] == rec._secret({"A": "server"})
    assert added["inputs"]["env"] == rec._secret({"A": "server"}) and added["outputs"]["description"] == ""
    assert list(folder.glob("dokploy-recover-bound-*.json")) == []
    assert hand not in json.dumps(cli.imported)


def test_a_proxy_caching_getServerTime_never_moves_the_bound_back(emu):
    """A proxy answering a cached `server.getServerTime` five minutes old: one reading would place
    the lock time five minutes back on Dokploy's clock, and a project made by hand three minutes
    before the update started (beyond the 120 s allowance) would be recorded. Two readings expose
    the cache: the bound cannot be placed, and the object is only listed."""
    from _recording_proxy import RecordingProxy

    lock_time = dt.datetime.now(dt.timezone.utc)
    hand = emu.create_project("shop")["projectId"]
    emu.set_project_fields(hand, createdAt=_iso(lock_time - dt.timedelta(seconds=180)))
    proxy = RecordingProxy(emu.url).start()
    try:
        stale = {"time": _iso(lock_time - dt.timedelta(seconds=300)), "timezone": "UTC"}
        proxy.answer_instead("server.getServerTime", 200, stale)
        server = rec.Server(DokployClient(proxy.url, KEY))
        decision = rec.decide(_op("shop", "shop"), set(), rec.StartBound(lock_time, "lock"), lambda c: server)
    finally:
        proxy.stop()
    assert decision.action != "import", decision
    assert [c.id for c in decision.candidates] == [hand]
