"""A failed `pulumi up` shows our one-line error and no KeyboardInterrupt traceback (issue 23).

When a resource fails, the engine cancels the program, which is still waiting for that resource's
outputs; the Python language host cancels it with SIGINT, and Python would print the
KeyboardInterrupt (twice: in the event loop's wait and in the executor's shutdown) under the
stack, in front of the resource's error. `_oneline_errors.quiet_cancelled_program` drops that
printout in the program process; DOKPLOY_PULUMI_TRACEBACKS=1 keeps it, which this test uses to show
the traceback is really there without the hook.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from _pulumi import PulumiStackFactory

from dokploy_pulumi.testing import DokployEmulator

PROGRAM = """\
import dokploy_pulumi as dokploy

# Its create is slowed down by the test: the program is still waiting for it when the engine
# cancels the program because of the failure below, as happens whenever a create is in flight.
dokploy.Project("slow", name="slow")
# No such source environment: the create fails at once.
dokploy.ProjectDuplicate("copy", source_environment_id="no-such-environment", name="copy")
"""

pytestmark = pytest.mark.timeout(600)


def test_failed_up_prints_no_keyboard_interrupt(pulumi_stack: PulumiStackFactory, tmp_path: Path):
    program = tmp_path / "program-src"
    program.mkdir()
    (program / "Pulumi.yaml").write_text("name: cancelled\nruntime: python\n")
    (program / "__main__.py").write_text(PROGRAM)
    with DokployEmulator(api_key="cancel-key-123") as emu:
        env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("DOKPLOY_")}
        env.update({"DOKPLOY_URL": emu.url, "DOKPLOY_API_KEY": "cancel-key-123"})
        error = "ProjectDuplicate 'copy': create failed: Dokploy environment.one"

        emu.inject_fault("project.create", latency=15.0)
        stack = pulumi_stack(program, env=env)
        stack.init()
        failed = stack.up(expect_failure=True)
        assert error in failed.output
        assert "KeyboardInterrupt" not in failed.output and "Traceback" not in failed.output, failed.describe()

        # The same failure with the hook turned off: the interrupt's traceback is what it removed.
        emu.inject_fault("project.create", latency=15.0)
        stack = pulumi_stack(program, env={**env, "DOKPLOY_PULUMI_TRACEBACKS": "1"}, stack="e2e-tracebacks")
        stack.init()
        again = stack.up(expect_failure=True)
        assert error in again.output
        assert "KeyboardInterrupt" in again.output, again.describe()
