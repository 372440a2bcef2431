"""Issue 19 on every server the real tier runs: `recover` never takes what is not provably the
interrupted update's, and a failure at any step of `recover --apply` leaves the state as the backup
or as the server holds it. Through the real Pulumi CLI against `backend` (the emulator by default, a
real Dokploy with DOKPLOY_URL/DOKPLOY_API_KEY set: `bash scripts/test-real.sh`).

`pulumi up` is killed (SIGKILL, with all it started) while a `HoldingProxy` between the stack and
the server keeps two requests from ever reaching the server: the second project's create (so it
was never made) and the env update that follows the environment's create (so the environment
exists with no env). On a real server the proxy is also what makes a read fail (401).
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _backend import n
from _interrupt import (
    FAIL_ON_IMPORT,
    HoldingProxy,
    backups,
    env_in_state,
    fake_pulumi,
    killed_up,
    locked,
    markers,
    pending,
    recover,
    state,
)
from _pulumi import PulumiStack, PulumiStackFactory

from dokploy_pulumi import DokployClient

PROGRAM = Path(__file__).parent / "programs" / "interrupted_real"
PREFIX = "urn:pulumi:e2e::dokploy-interrupted-real::pulumi-python:dynamic/dokploy:"

pytestmark = pytest.mark.timeout(1800)


@pytest.fixture
def proxy(backend: Any) -> Iterator[HoldingProxy]:
    held = HoldingProxy(backend.url)
    try:
        yield held
    finally:
        held.stop()


def _interrupted(backend: Any, proxy: HoldingProxy, pulumi_stack: PulumiStackFactory) -> tuple[PulumiStack, dict]:
    """A stack whose `up` was killed with the app project's create and the staging env update held."""
    names = {"base": n("rr-base"), "app": n("rr-app")}
    env: dict[str, Any] = {k: None for k in os.environ if k.startswith("DOKPLOY_")}
    env.update({"DOKPLOY_URL": proxy.url, "DOKPLOY_API_KEY": backend.api_key})
    stack = pulumi_stack(PROGRAM, env=env)
    stack.init()
    stack.set_config("base", names["base"])
    stack.set_config("app", names["app"])
    proxy.hold = lambda method, procedure, body: (
        method == "POST"
        and (
            (procedure == "project.create" and (body or {}).get("name") == names["app"])
            or procedure == "environment.update"
        )
    )
    killed_up(stack, lambda: proxy.held_count() >= 2, stack.program_dir.parent / "killed-up.log")
    proxy.hold = None
    assert pending(stack) == ["app", "staging"]
    assert locked(stack)
    return stack, names


def _rows(backend: Any, name: str) -> list[dict]:
    return [p for p in backend.projects() if p["name"] == name]


def test_recover_after_cancel_never_takes_a_same_named_project_made_by_hand(
    backend: Any, proxy: HoldingProxy, pulumi_stack: PulumiStackFactory
):
    hand_id = backend.create_project(n("rr-app"), description="made by hand", env="KEEP=1")["projectId"]
    hand = backend.get_project(hand_id)
    # When the update starts, on the server's clock (`server.getServerTime`, the clock that stamps
    # createdAt), read after the hand-made project's createdAt has certainly passed.
    time.sleep(2.0)
    server_now = DokployClient(backend.url, backend.api_key).server_time()
    assert server_now is not None
    started = dt.datetime.fromtimestamp(server_now, dt.timezone.utc)
    stack, names = _interrupted(backend, proxy, pulumi_stack)
    assert [p["projectId"] for p in _rows(backend, names["app"])] == [hand_id]  # its create never arrived
    stack.run("cancel", "--yes")  # what Pulumi's lock message tells the user to do
    before = state(stack)

    applied = recover(stack, "--apply")
    assert applied.returncode == 2, applied.stdout + applied.stderr
    assert f"- UNPROVEN {PREFIX}Project::app" in applied.stdout and f"candidate {hand_id} created" in applied.stdout
    assert f"- UNPROVEN {PREFIX}Environment::staging" in applied.stdout
    assert "Nothing was changed" in applied.stdout and "- RECORD" not in applied.stdout
    assert state(stack) == before and backups(stack) == []

    # A --since still to come on the server's clock would CLEAR the environment the update made
    # (and `up` would make it again): refused, nothing changed.
    ahead = dt.datetime.fromtimestamp(server_now + 3600, dt.timezone.utc)
    refused = recover(stack, "--apply", "--since", ahead.isoformat())
    assert refused.returncode == 1 and "later than Dokploy's clock" in refused.stderr, refused.stdout + refused.stderr
    assert "- CLEAR" not in refused.stdout and state(stack) == before and backups(stack) == []

    applied = recover(stack, "--apply", "--since", started.isoformat())
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert f"- CLEAR {PREFIX}Project::app" in applied.stdout and f"left alone ({hand_id} " in applied.stdout
    assert f"- RECORD {PREFIX}Environment::staging" in applied.stdout
    assert hand_id not in {r.get("id") for r in stack.resources()}

    stack.up()
    assert backend.get_project(hand_id) == hand  # `up` changed nothing of it
    assert len(_rows(backend, names["app"])) == 2
    stack.destroy()
    assert backend.get_project(hand_id) == hand
    assert [p["projectId"] for p in backend.projects()] == [hand_id]


def test_recover_apply_failing_at_a_step_leaves_the_backup_or_what_the_server_holds(
    backend: Any, proxy: HoldingProxy, pulumi_stack: PulumiStackFactory, tmp_path: Path
):
    stack, names = _interrupted(backend, proxy, pulumi_stack)
    before = state(stack)

    # The provider's read of the environment to record answers 401 (a rate-limited key): nothing
    # changes, and the lock (the proof of when the update started) stays.
    proxy.fail = lambda method, procedure, body: (
        (401, {"message": "Unauthorized"}) if procedure == "environment.one" else None
    )
    failed = recover(stack, "--apply")
    proxy.fail = None
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "::staging: reading" in failed.stderr and "nothing was changed" in failed.stderr
    assert state(stack) == before and locked(stack) and backups(stack) == []

    # `stack import` fails after the lock was removed: the state is the backup, the lock's time
    # is kept for the next run.
    failed = recover(stack, "--apply", env=fake_pulumi(stack, tmp_path / "no-import", FAIL_ON_IMPORT))
    assert failed.returncode == 1 and "fake pulumi: stack import fails" in failed.stderr
    assert state(stack) == before and not locked(stack) and len(markers(stack)) == 1

    applied = recover(stack, "--apply")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "kept in dokploy-recover-bound-" in applied.stdout
    assert (
        f"- CLEAR {PREFIX}Project::app" in applied.stdout and f"- RECORD {PREFIX}Environment::staging" in applied.stdout
    )
    # The state holds what the server holds (no env yet), not the declared env ...
    assert env_in_state(stack, "staging") == {}
    staging_id = {r["urn"]: r.get("id") for r in stack.resources()}[f"{PREFIX}Environment::staging"]
    assert backend.get_environment(staging_id)["env"] == ""
    # ... so `up` writes it, and creates the project whose create never arrived.
    stack.up()
    assert "TOKEN=t0k-real-recover" in backend.get_environment(staging_id)["env"]
    assert len(_rows(backend, names["app"])) == 1
    stack.preview(expect_no_changes=True)
    stack.destroy()
    assert backend.projects() == []
