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

import datetime as dt
import json
import os
from collections import Counter
from pathlib import Path

import pytest
from _interrupt import (
    FAIL_ON_EXPORT,
    FAIL_ON_IMPORT,
    KILL_DURING_IMPORT,
    backups,
    env_in_state,
    fake_pulumi,
    killed_up,
    locked,
    markers,
    pending,
    recover,
    state,
    wait_for,
)
from _pulumi import PulumiStack, PulumiStackFactory

from dokploy_pulumi._pulumi_cli import PulumiCLI
from dokploy_pulumi._recover import marker_path
from dokploy_pulumi.testing import DokployEmulator

PROGRAM = Path(__file__).parent / "programs" / "interrupted"
TWINS = Path(__file__).parent / "programs" / "interrupted_twins"
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


def _creates(emu: DokployEmulator):
    return [r for r in emu.requests if r.procedure in CREATES]


def _interrupted_stack(
    emu: DokployEmulator, pulumi_stack: PulumiStackFactory, program: Path = PROGRAM, in_flight: int = 4
) -> PulumiStack:
    """A stack whose `pulumi up` was SIGKILLed with `in_flight` creates in flight, the first
    project.create of them never committed (it never reached the server's database)."""
    stack = pulumi_stack(program, env=_clean_env(DOKPLOY_API_KEY=API_KEY))
    stack.init()
    stack.set_config("dokploy:url", emu.url)
    emu.latency = LATENCY
    injected: list[bool] = []

    def ready() -> bool:
        # The first create is the base project's (everything else depends on it). While it is in
        # flight, make the next project.create sleep and then drop without committing.
        if not injected and _creates(emu):
            emu.inject_fault("project.create", drop=True)
            injected.append(True)
        return len(_creates(emu)) >= 1 + in_flight

    log = stack.program_dir.parent / "interrupted-up.log"
    killed, at_kill = killed_up(stack, ready, log, at_kill=lambda: _creates(emu))
    assert len(at_kill) == 1 + in_flight, log.read_text()
    assert len(killed) >= 3  # the CLI, the language host (and program), the provider server
    # Received, not yet answered: the kill caught them all in flight.
    assert [r.status for r in at_kill] == [200] + [None] * in_flight
    # Let the server finish what it received (the dropped request never gets a status).
    wait_for(lambda: sum(r.status is None for r in emu.requests) <= 1, "the server to finish", timeout=30)
    emu.latency = 0.0
    return stack


def _by_name(emu: DokployEmulator) -> Counter:
    return Counter(p["name"] for p in emu.projects())


def test_the_engine_alone_duplicates_what_interrupted_creates_made(
    emu: DokployEmulator, pulumi_stack: PulumiStackFactory
):
    stack = _interrupted_stack(emu, pulumi_stack)
    assert pending(stack) == ["app1", "app2", "app3", "staging"]
    assert Counter(r.procedure for r in _creates(emu)[1:5]) == Counter({"project.create": 3, "environment.create": 1})
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
    assert app not in pending(stack)
    assert app not in {r["urn"].rsplit("::", 1)[-1] for r in stack.resources()}

    # A plain `pulumi up` only warns, then creates every interrupted resource again: duplicates,
    # and the remaining pending creates stay in the state.
    up = stack.up()
    assert "pending operations from previous deployment" in up.output
    counts = _by_name(emu)
    assert counts[NAMES["base"]] == 1
    assert sorted(counts[NAMES[n]] for n in ("app1", "app2", "app3")) == [1, 2, 2]
    assert sum(e["name"] == "staging" for e in emu.environments()) == 2
    assert len(pending(stack)) == 3

    # `refresh --clear-pending-creates` forgets them all: what the killed creates made stays on
    # the server, owned by nothing (orphans).
    stack.run("refresh", "--yes", "--clear-pending-creates")
    assert pending(stack) == []
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
    assert pending(stack) == ["app1", "app2", "app3", "staging"]
    made = {p["projectId"]: p["name"] for p in emu.projects() if p["projectId"] != decoy}
    base_id = next(i for i, n in made.items() if n == NAMES["base"])
    staging_row = next(e for e in emu.environments() if e["name"] == "staging")
    assert staging_row["projectId"] == base_id and staging_row["env"] == ""  # killed before its env was set
    cleared = next(n for n in ("app1", "app2", "app3") if NAMES[n] not in made.values())

    # Dry run: says what it would do, changes nothing (reads only, state untouched).
    emu.reset_requests()
    dry = recover(stack)
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert {r.method for r in emu.requests} == {"GET"}
    assert dry.stdout.count("- RECORD ") == 3 and dry.stdout.count("- CLEAR ") == 1
    assert f"- CLEAR urn:pulumi:e2e::dokploy-interrupted::{PREFIX}Project::{cleared}" in dry.stdout
    assert "stale lock" in dry.stdout and f"candidate {decoy}" not in dry.stdout
    assert f"older one(s) left alone ({decoy} (created 2020-01-01T00:00:00.000Z))" in dry.stdout
    assert pending(stack) == ["app1", "app2", "app3", "staging"]

    emu.reset_requests()
    applied = recover(stack, "--apply")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert {r.method for r in emu.requests} == {"GET"}
    assert "Removed the stale lock" in applied.stdout and "3 recorded, 1 cleared" in applied.stdout
    assert pending(stack) == []
    saved = backups(stack)
    assert len(saved) == 1 and oct(saved[0].stat().st_mode & 0o777) == "0o600"
    assert "t0k-recover" not in saved[0].read_text()  # secrets stay encrypted in the backup
    recorded = {r["urn"].rsplit("::", 1)[-1]: r for r in stack.resources()}
    for logical in ("app1", "app2", "app3"):
        if logical != cleared:
            assert made[recorded[logical]["id"]] == NAMES[logical]
            assert recorded[logical]["outputs"]["created_at"]  # as the provider's read stores it
    assert recorded["staging"]["id"] == staging_row["environmentId"]
    assert env_in_state(stack, "staging") == {}  # what the server holds, not the declared env

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
    again = recover(stack, "--apply")
    assert again.returncode == 0 and "nothing to recover" in again.stdout


# -- issue 19: ownership is proven or asked for; failure-safe edits; two creates of one name ----------


def test_after_pulumi_cancel_a_same_named_project_made_by_hand_is_never_taken(
    emu: DokployEmulator, pulumi_stack: PulumiStackFactory
):
    started = dt.datetime.now(dt.timezone.utc)  # the emulator's clock is this machine's
    stack = _interrupted_stack(emu, pulumi_stack)
    made = {p["name"]: p["projectId"] for p in emu.projects()}
    cleared = next(n for n in ("app1", "app2", "app3") if NAMES[n] not in made)  # its create never committed
    hand = emu.create_project(NAMES[cleared], description="made by hand", env="KEEP=1")["projectId"]
    emu.set_project_fields(hand, createdAt=(started - dt.timedelta(days=21)).isoformat().replace("+00:00", "Z"))
    stack.run("cancel", "--yes")  # what Pulumi's lock message tells the user to do
    before = state(stack)

    # No lock, no update in progress: nothing proves when the update started, so nothing is taken.
    emu.reset_requests()
    applied = recover(stack, "--apply")
    assert applied.returncode == 2, applied.stdout + applied.stderr
    urn = f"urn:pulumi:e2e::dokploy-interrupted::{PREFIX}Project::{cleared}"
    assert f"- UNPROVEN {urn}" in applied.stdout and f"candidate {hand} created" in applied.stdout
    assert "- RECORD" not in applied.stdout and "Nothing was changed" in applied.stdout
    assert {r.method for r in emu.requests} == {"GET"}
    assert state(stack) == before and backups(stack) == []

    # The user gives the time the update started (Dokploy's clock): the hand-made project is older.
    applied = recover(stack, "--apply", "--since", started.isoformat())
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert f"- CLEAR {urn}" in applied.stdout and f"older one(s) left alone ({hand} " in applied.stdout
    assert "3 recorded, 1 cleared" in applied.stdout
    assert hand not in {r.get("id") for r in stack.resources()}

    row = emu.get_project(hand)
    stack.up()
    assert emu.get_project(hand) == row  # `up` changed nothing of it
    assert _by_name(emu)[NAMES[cleared]] == 2  # the hand-made one and the one `up` made
    stack.destroy()
    assert emu.get_project(hand) == row and [p["projectId"] for p in emu.projects()] == [hand]


def test_recover_apply_failing_at_any_step_leaves_the_backup_or_what_the_server_holds(
    emu: DokployEmulator, pulumi_stack: PulumiStackFactory, tmp_path: Path
):
    stack = _interrupted_stack(emu, pulumi_stack)
    before = state(stack)
    assert locked(stack)

    # `stack export` fails: nothing read, nothing changed.
    failed = recover(stack, "--apply", env=fake_pulumi(stack, tmp_path / "no-export", FAIL_ON_EXPORT))
    assert failed.returncode == 1 and "fake pulumi: stack export fails" in failed.stderr
    assert state(stack) == before and locked(stack) and backups(stack) == []

    # The provider's read of the recorded environment fails (the listing before it succeeded):
    # a rate-limited key (401), then a server that keeps failing (503, retried first). The lock,
    # the proof of when the update started, is still there.
    for status, body in ((401, {"message": "Unauthorized"}), (503, {"message": "down", "code": "INTERNAL"})):
        emu.inject_fault("environment.one", status=status, body=body, times=50)
        failed = recover(stack, "--apply")
        emu.clear_faults()
        assert failed.returncode == 1, failed.stdout + failed.stderr
        assert "::staging: reading" in failed.stderr and "nothing was changed" in failed.stderr
        assert state(stack) == before and locked(stack) and backups(stack) == []

    # `stack import` fails after the lock was removed: the state is the backup, and the lock's
    # time is kept in the marker for the next run.
    failed = recover(stack, "--apply", env=fake_pulumi(stack, tmp_path / "no-import", FAIL_ON_IMPORT))
    assert failed.returncode == 1 and "fake pulumi: stack import fails" in failed.stderr
    assert state(stack) == before and not locked(stack)
    assert [json.loads(b.read_text())["deployment"] for b in backups(stack)] == [before]
    assert len(markers(stack)) == 1

    # Run again, killed while the import runs: the import completes, and the state holds what
    # the server holds (the environment's env is still empty there), not the declared env.
    killed = recover(stack, "--apply", env=fake_pulumi(stack, tmp_path / "killed", KILL_DURING_IMPORT))
    assert killed.returncode == -9, killed.stdout + killed.stderr
    rc = (
        wait_for(lambda: (tmp_path / "killed" / "import.rc").exists(), "the import to end")
        and (tmp_path / "killed" / "import.rc").read_text()
    )
    assert rc.strip() == "0", (tmp_path / "killed" / "import.out").read_text()
    assert "the stale lock of the interrupted update" in killed.stdout and "kept in" in killed.stdout
    assert pending(stack) == [] and env_in_state(stack, "staging") == {}, killed.stdout + killed.stderr
    staging_row = next(e for e in emu.environments() if e["name"] == "staging")
    assert staging_row["env"] == ""

    # So the next `up` writes the declared env (and creates the project that was never made).
    emu.reset_requests()
    stack.up()
    posts = Counter(r.procedure for r in emu.requests if r.method == "POST")
    assert posts == Counter({"project.create": 1, "environment.update": 1})
    assert "TOKEN=t0k-recover" in emu.get_environment(staging_row["environmentId"])["env"]
    stack.preview(expect_no_changes=True)
    again = recover(stack, "--apply")
    assert again.returncode == 0 and "nothing to recover" in again.stdout and markers(stack) == []


def test_two_pending_creates_of_one_name_one_made_are_resolvable(
    emu: DokployEmulator, pulumi_stack: PulumiStackFactory
):
    stack = _interrupted_stack(emu, pulumi_stack, program=TWINS, in_flight=2)
    twins = [p["projectId"] for p in emu.projects() if p["name"] == "recover-twin"]
    assert len(twins) == 1  # one create committed, the other dropped
    made = twins[0]
    urn_a, urn_b = (f"urn:pulumi:e2e::dokploy-interrupted-twins::{PREFIX}Project::twin_{x}" for x in ("a", "b"))
    before = state(stack)

    # Both pending creates could have made it: neither is recorded, nothing changes.
    dry = recover(stack, "--apply")
    assert dry.returncode == 2, dry.stdout + dry.stderr
    assert f"- AMBIGUOUS {urn_a}" in dry.stdout and f"- AMBIGUOUS {urn_b}" in dry.stdout
    assert state(stack) == before

    # Clearing one explicitly leaves the object to the other.
    dry = recover(stack, "--clear", urn_b)
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert f"- RECORD {urn_a}" in dry.stdout and f"- CLEAR {urn_b}" in dry.stdout

    # Choosing it for one takes it out of the other's candidates: that one is cleared.
    applied = recover(stack, "--apply", "--choose", urn_b, made)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert f"- RECORD {urn_b}" in applied.stdout and f"- CLEAR {urn_a}" in applied.stdout
    assert {r["urn"]: r.get("id") for r in stack.resources()}[urn_b] == made
    stack.up()
    ids = stack.outputs()["twin_ids"]
    assert ids[1] == made and ids[0] != made
    assert sorted(p["projectId"] for p in emu.projects() if p["name"] == "recover-twin") == sorted(ids)


def test_a_marker_left_by_an_earlier_interruption_is_no_bound_for_a_new_one(
    emu: DokployEmulator, pulumi_stack: PulumiStackFactory
):
    """A marker file is the bound of the interruption it was written for. One left weeks ago (an
    `--apply` that failed after removing the lock, then the user moved on with `pulumi up`) must
    not date a later interruption: a project made by hand in between would pass it."""
    started = dt.datetime.now(dt.timezone.utc)
    stack = _interrupted_stack(emu, pulumi_stack)
    made = {p["name"]: p["projectId"] for p in emu.projects()}
    cleared = next(n for n in ("app1", "app2", "app3") if NAMES[n] not in made)
    urn = f"urn:pulumi:e2e::dokploy-interrupted::{PREFIX}Project::{cleared}"
    hand = emu.create_project(NAMES[cleared], description="made by hand", env="KEEP=1")["projectId"]
    emu.set_project_fields(hand, createdAt=(started - dt.timedelta(days=14)).isoformat().replace("+00:00", "Z"))
    stack.run("cancel", "--yes")
    fq = PulumiCLI(stack=stack.stack, cwd=stack.program_dir, env=stack.env).stack_name()
    # What an earlier run's marker holds: the stale lock of an update three weeks ago, same URN.
    old = (started - dt.timedelta(days=21)).isoformat()
    bounds = {urn: {"moment": old, "source": "the stale lock of the interrupted update"}}
    marker_path(stack.program_dir, fq).write_text(json.dumps({"stack": fq, "bounds": bounds}))
    assert markers(stack), [p.name for p in stack.program_dir.iterdir()]
    before = state(stack)

    applied = recover(stack, "--apply")
    assert f"- RECORD {urn}" not in applied.stdout, applied.stdout + applied.stderr
    assert f"- UNPROVEN {urn}" in applied.stdout and applied.returncode == 2, applied.stdout + applied.stderr
    assert state(stack) == before


def test_since_later_than_the_servers_clock_is_refused(emu: DokployEmulator, pulumi_stack: PulumiStackFactory):
    """`--since` a time still to come (a typo, a local time read as UTC east of Greenwich) would
    rule out every object the interrupted update made: each pending create CLEARed, and the next
    `up` makes them all a second time. No interrupted update started in the future: refused."""
    stack = _interrupted_stack(emu, pulumi_stack)
    stack.run("cancel", "--yes")
    before = state(stack)
    count = len(emu.projects())
    ahead = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=2)).replace(tzinfo=None).isoformat()
    for since in (ahead, "9999-12-31T23:59:59+14:00"):
        emu.reset_requests()
        applied = recover(stack, "--apply", "--since", since)
        assert applied.returncode == 1, applied.stdout + applied.stderr
        assert "- CLEAR" not in applied.stdout and "Traceback" not in applied.stderr
        assert "--since" in applied.stderr and "later than Dokploy's clock" in applied.stderr, applied.stderr
        assert state(stack) == before and backups(stack) == [] and len(emu.projects()) == count
        assert {r.method for r in emu.requests} <= {"GET"}
    # Before any object (the year 1, with a zone that puts its UTC moment in year 0): a one-line answer.
    early = recover(stack, "--since", "0001-01-01T00:00:00+01:00")
    assert "Traceback" not in early.stderr and early.returncode in (0, 2), early.stdout + early.stderr


def test_a_stale_lock_newer_than_the_checkpoint_is_no_bound(emu: DokployEmulator, pulumi_stack: PulumiStackFactory):
    """The pending creates were saved into the checkpoint after their update took its lock. A stale
    lock newer than the checkpoint is another operation's (a `pulumi refresh` killed later, after
    the first lock was cancelled): as a bound it would rule out every object the creates made
    (each CLEARed, so `up` makes them again)."""
    stack = _interrupted_stack(emu, pulumi_stack)
    lock = next((stack.program_dir.parent / "state" / ".pulumi" / "locks").rglob("*.json"))
    content = json.loads(lock.read_text())
    stack.run("cancel", "--yes")
    # What a later operation, killed too, leaves: its own lock, dated after the checkpoint was saved.
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=10)
    content["timestamp"] = later.isoformat().replace("+00:00", "Z")
    lock.write_text(json.dumps(content))
    before = state(stack)
    count = len(emu.projects())

    made = {p["name"] for p in emu.projects()} | {e["name"] for e in emu.environments()}
    applied = recover(stack, "--apply")
    for logical, name in (
        ("app1", NAMES["app1"]),
        ("app2", NAMES["app2"]),
        ("app3", NAMES["app3"]),
        ("staging", "staging"),
    ):
        kind = "Environment" if logical == "staging" else "Project"
        urn = f"urn:pulumi:e2e::dokploy-interrupted::{PREFIX}{kind}::{logical}"
        if name in made:  # a pending create whose object exists is never CLEARed
            assert f"- UNPROVEN {urn}\n" in applied.stdout, applied.stdout
    assert applied.returncode == 2, applied.stdout + applied.stderr
    assert state(stack) == before and backups(stack) == [] and len(emu.projects()) == count
