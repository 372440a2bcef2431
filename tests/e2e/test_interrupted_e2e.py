"""An interrupted `pulumi up`, for real: SIGKILL the CLI while creates are in flight, then recover.

The emulator answers slowly (latency), so the creates are caught in flight: the test polls the
emulator's request log until the four creates that follow the first project are all received,
then kills the CLI and everything it started (the language host and the dynamic-provider server
run in process groups of their own, but in the session the CLI was started in). The server goes
on and commits the creates it received, as Dokploy would; one of them is dropped before commit
(a create that made nothing). The checkpoint keeps the four creates as pending operations.

The first test pins what the pinned engine does on its own (duplicates); the second, that
`python -m dokploy_pulumi recover --apply` then `pulumi up` leaves exactly one object per
resource and no changes.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from _pulumi import PulumiStack, PulumiStackFactory

from dokploy_pulumi.testing import DokployEmulator

PROGRAM = Path(__file__).parent / "programs" / "interrupted"
API_KEY = "e2e-interrupted-key-0123456789"
PREFIX = "pulumi-python:dynamic/dokploy:"
CREATES = ("project.create", "environment.create")
# Long enough that four creates received together are all still in flight when the kill lands.
LATENCY = 3.0
NAMES = {"base": "recover-base", "app1": "recover-app1", "app2": "recover-app2", "app3": "recover-app3"}


@pytest.fixture
def emu():
    with DokployEmulator(api_key=API_KEY) as e:
        yield e


def _clean_env(**extra: str) -> dict:
    env: dict = {k: None for k in os.environ if k.startswith("DOKPLOY_")}
    env.update(extra)
    return env


def _session_pids(sid: int) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.getsid(int(entry)) == sid:
                    pids.append(int(entry))
            except OSError:
                pass
    return pids


def _kill_session(sid: int) -> list[int]:
    """SIGKILL every process of the session the CLI leads (and only those): freeze first, so
    none can start or reap another in between."""
    pids = _session_pids(sid)
    for sig in (signal.SIGSTOP, signal.SIGKILL):
        for pid in _session_pids(sid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
    return pids


def _wait_for(predicate, what: str, timeout: float = 90.0, interval: float = 0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")


def _creates(emu: DokployEmulator):
    return [r for r in emu.requests if r.procedure in CREATES]


def _interrupted_stack(emu: DokployEmulator, pulumi_stack: PulumiStackFactory) -> PulumiStack:
    """A stack whose `pulumi up` was SIGKILLed with four creates in flight (one never committed)."""
    stack = pulumi_stack(PROGRAM, env=_clean_env(DOKPLOY_API_KEY=API_KEY))
    stack.init()
    stack.set_config("dokploy:url", emu.url)
    emu.latency = LATENCY
    log_path = stack.program_dir.parent / "interrupted-up.log"
    log = open(log_path, "w")
    proc = subprocess.Popen(
        ["pulumi", "up", "--yes", "--skip-preview", "--non-interactive", "--color=never", "--stack", stack.stack],
        cwd=stack.program_dir,
        env=stack.env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        # The first create is the base project's (everything else depends on it). While it is in
        # flight, make the next project.create sleep and then drop without committing.
        _wait_for(lambda: len(_creates(emu)) >= 1, "the first create")
        emu.inject_fault("project.create", drop=True)
        _wait_for(lambda: len(_creates(emu)) >= 5 or proc.poll() is not None, "four creates after the base project")
        killed = _kill_session(proc.pid)
        at_kill = _creates(emu)
    finally:
        if proc.poll() is None:
            _kill_session(proc.pid)
        proc.wait(timeout=30)
        log.close()
    assert len(at_kill) == 5, log_path.read_text()
    assert len(killed) >= 3  # the CLI, the language host (and program), the provider server
    # Received, not yet answered: the kill caught all four in flight.
    assert [r.status for r in at_kill] == [200, None, None, None, None]
    assert Counter(r.procedure for r in at_kill[1:]) == Counter({"project.create": 3, "environment.create": 1})
    # Let the server finish what it received (the dropped request never gets a status).
    _wait_for(lambda: sum(r.status is None for r in emu.requests) <= 1, "the server to finish", timeout=30)
    emu.latency = 0.0
    assert _session_pids(proc.pid) == []
    return stack


def _by_name(emu: DokployEmulator) -> Counter:
    return Counter(p["name"] for p in emu.projects())


def _pending(stack: PulumiStack) -> list[str]:
    ops = stack.export()["deployment"].get("pending_operations") or []
    return sorted(op["resource"]["urn"].rsplit("::", 1)[-1] for op in ops if op["type"] == "creating")


def _recover(stack: PulumiStack, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "dokploy_pulumi", "recover", "--stack", stack.stack, *args],
        cwd=stack.program_dir,
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def test_the_engine_alone_duplicates_what_interrupted_creates_made(
    emu: DokployEmulator, pulumi_stack: PulumiStackFactory
):
    stack = _interrupted_stack(emu, pulumi_stack)
    assert _pending(stack) == ["app1", "app2", "app3", "staging"]
    made = {p["name"]: p["projectId"] for p in emu.projects()}
    assert len(made) == 3  # base plus two of the three apps; one create was dropped before commit
    # The killed CLI left its lock (file backend): nothing runs until `pulumi cancel`.
    assert "currently locked" in stack.run("refresh", "--yes", expect_failure=True).output
    stack.run("cancel", "--yes")

    # `refresh --import-pending-creates URN ID` (two flags: cobra's StringArray takes one value each)
    # drops the operation without reading the object (no request for it) and records nothing.
    app = next(n for n in ("app1", "app2", "app3") if NAMES[n] in made)
    urn = next(r for r in _pending_urns(stack) if r.endswith(f"::{app}"))
    emu.reset_requests()
    stack.run("refresh", "--yes", "--import-pending-creates", urn, "--import-pending-creates", made[NAMES[app]])
    assert all(r.query.get("projectId") != made[NAMES[app]] for r in emu.requests)
    assert app not in _pending(stack)
    assert app not in {r["urn"].rsplit("::", 1)[-1] for r in stack.resources()}

    # A plain `pulumi up` only warns, then creates every interrupted resource again: duplicates,
    # and the remaining pending creates stay in the state.
    up = stack.up()
    assert "pending operations from previous deployment" in up.output
    counts = _by_name(emu)
    assert counts[NAMES["base"]] == 1
    assert sorted(counts[NAMES[n]] for n in ("app1", "app2", "app3")) == [1, 2, 2]
    assert sum(e["name"] == "staging" for e in emu.environments()) == 2
    assert len(_pending(stack)) == 3

    # `refresh --clear-pending-creates` forgets them all: what the killed creates made stays on
    # the server, owned by nothing (orphans).
    stack.run("refresh", "--yes", "--clear-pending-creates")
    assert _pending(stack) == []
    in_state = {r.get("id") for r in stack.resources()}
    orphans = [i for n, i in made.items() if n != NAMES["base"]]
    assert len(orphans) == 2 and not set(orphans) & in_state
    assert all(emu.get_project(i) is not None for i in orphans)


def _pending_urns(stack: PulumiStack) -> list[str]:
    ops = stack.export()["deployment"].get("pending_operations") or []
    return [op["resource"]["urn"] for op in ops]


def test_recover_then_up_leaves_one_object_per_resource(emu: DokployEmulator, pulumi_stack: PulumiStackFactory):
    # A project with a pending create's name made long before the update: never a candidate.
    decoy = emu.create_project(NAMES["app1"], description="made by hand in 2020")["projectId"]
    emu.set_project_fields(decoy, createdAt="2020-01-01T00:00:00.000Z")
    stack = _interrupted_stack(emu, pulumi_stack)
    assert _pending(stack) == ["app1", "app2", "app3", "staging"]
    made = {p["projectId"]: p["name"] for p in emu.projects() if p["projectId"] != decoy}
    base_id = next(i for i, n in made.items() if n == NAMES["base"])
    staging_row = next(e for e in emu.environments() if e["name"] == "staging")
    assert staging_row["projectId"] == base_id and staging_row["env"] == ""  # killed before its env was set
    cleared = next(n for n in ("app1", "app2", "app3") if NAMES[n] not in made.values())

    # Dry run: says what it would do, changes nothing (reads only, state untouched).
    emu.reset_requests()
    dry = _recover(stack)
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert {r.method for r in emu.requests} == {"GET"}
    assert dry.stdout.count("- RECORD ") == 3 and dry.stdout.count("- CLEAR ") == 1
    assert f"- CLEAR urn:pulumi:e2e::dokploy-interrupted::{PREFIX}Project::{cleared}" in dry.stdout
    assert "stale lock" in dry.stdout and f"candidate {decoy}" not in dry.stdout
    assert f"older one(s) left alone ({decoy} (created 2020-01-01T00:00:00.000Z))" in dry.stdout
    assert _pending(stack) == ["app1", "app2", "app3", "staging"]

    emu.reset_requests()
    applied = _recover(stack, "--apply")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert {r.method for r in emu.requests} == {"GET"}
    assert "Removed the stale lock" in applied.stdout and "3 recorded, 1 cleared" in applied.stdout
    assert _pending(stack) == []
    backups = list(stack.program_dir.glob("dokploy-recover-backup-*.json"))
    assert len(backups) == 1 and oct(backups[0].stat().st_mode & 0o777) == "0o600"
    state = {r["urn"].rsplit("::", 1)[-1]: r for r in stack.resources()}
    for logical in ("app1", "app2", "app3"):
        if logical != cleared:
            assert made[state[logical]["id"]] == NAMES[logical]
            assert state[logical]["outputs"]["created_at"]  # read back by the refresh
    assert state["staging"]["id"] == staging_row["environmentId"]

    emu.reset_requests()
    stack.up()
    posts = Counter(r.procedure for r in emu.requests if r.method == "POST")
    # Only what is missing: the create that made nothing, and the env the killed create never set.
    assert posts == Counter({"project.create": 1, "environment.update": 1})
    counts = _by_name(emu)
    assert counts == Counter(
        {NAMES["base"]: 1, NAMES["app1"]: 2, NAMES["app2"]: 1, NAMES["app3"]: 1}
    )  # app1 x2: the decoy
    assert emu.get_project(decoy)["description"] == "made by hand in 2020"
    outputs = stack.outputs()
    assert decoy not in outputs["app_ids"] and len(set(outputs["app_ids"])) == 3
    staging = [e for e in emu.environments() if e["name"] == "staging"]
    assert len(staging) == 1 and staging[0]["environmentId"] == outputs["staging_id"]
    assert "TOKEN=t0k-recover" in staging[0]["env"]
    assert json.dumps(stack.export()["deployment"].get("pending_operations") or []) == "[]"
    stack.preview(expect_no_changes=True)
    again = _recover(stack, "--apply")
    assert again.returncode == 0 and "nothing to recover" in again.stdout
