"""`python -m dokploy_pulumi drift` through the real CLI against `backend` (the emulator, or a real
Dokploy in the real tier): one stack, one project made by hand.

A real server holds other tests' (and people's) projects, so the unmanaged list is read for this
test's own names only (its prefix; on the emulator the prefix is empty and the list is exact).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from _backend import n
from _pulumi import PulumiStackFactory
from test_real_subset import _stack, destroyed_on_failure

PROGRAM = Path(__file__).parent / "programs" / "drift"

# Longer than one CLI command's COMMAND_TIMEOUT_REAL: the real tier's --timeout (900 s, the same)
# ended a hung `pulumi up` first, without the CLI's output, and the destroy after it unguarded.
pytestmark = pytest.mark.timeout(1800)


def test_drift_finds_the_hand_made_project_only(backend, pulumi_stack: PulumiStackFactory):
    stack = _stack(pulumi_stack, PROGRAM, backend)
    stack.init()
    stack.set_config("projects", json.dumps({"kept": n("drift-kept")}))
    with destroyed_on_failure(stack):
        stack.up(skip_preview=True)
        kept = stack.outputs()["kept_id"]
        hand = backend.create_project(n("drift-hand"))["projectId"]
        rows = backend.environments()
        hand_env = {e["environmentId"] for e in rows if e["projectId"] == hand}
        kept_env = {e["environmentId"] for e in rows if e["projectId"] == kept}
        assert len(hand_env) == 1 and len(kept_env) == 1

        backend.reset_requests()
        run = subprocess.run(
            [sys.executable, "-m", "dokploy_pulumi", "drift", "--json"],
            cwd=stack.program_dir,
            env=stack.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert run.returncode == 1, run.stdout + run.stderr
        assert {(r.method, r.procedure) for r in backend.requests} == {("GET", "project.all")}
        report = json.loads(run.stdout)
        prefix = n("")
        ours = {
            (o["kind"], o["id"])
            for o in report["unmanaged"]
            if (o["name"] if o["kind"] == "project" else o["project"]).startswith(prefix)
        }
        assert ours == {("project", hand), *(("environment", e) for e in hand_env)}
        # The stack's project, and its default environment (it comes with the Project), are managed.
        assert not ({kept} | kept_env) & {o["id"] for o in report["unmanaged"]}
        assert report["gone"] == [] and report["shared"] == [] and report["stacks"] == [stack.stack]
        assert backend.api_key not in run.stdout + run.stderr
