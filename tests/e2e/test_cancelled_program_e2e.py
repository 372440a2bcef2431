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

# Its create is slowed down by the test, so that the program is often still waiting for it when
# the engine cancels the program because of the failure below.
dokploy.Project("slow", name="slow")
# No such source environment: the create fails at once.
dokploy.ProjectDuplicate("copy", source_environment_id="no-such-environment", name="copy")
"""

pytestmark = pytest.mark.timeout(900)


#: Whether the engine's cancel reaches the program while it still waits is a race the engine
#: decides (it may also wait for the in-flight create and let the program end on its own): seen
#: in about half of the runs here. So the hook is checked on several runs, and the traceback it
#: removes is shown to exist by running without the hook until it appears.
RUNS_WITH_HOOK = 3
MAX_RUNS_WITHOUT_HOOK = 8


def test_failed_up_prints_no_keyboard_interrupt(pulumi_stack: PulumiStackFactory, tmp_path: Path):
    program = tmp_path / "program-src"
    program.mkdir()
    (program / "Pulumi.yaml").write_text("name: cancelled\nruntime: python\n")
    (program / "__main__.py").write_text(PROGRAM)
    error = "ProjectDuplicate 'copy': create failed: Dokploy environment.one"
    with DokployEmulator(api_key="cancel-key-123") as emu:
        env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("DOKPLOY_")}
        env.update({"DOKPLOY_URL": emu.url, "DOKPLOY_API_KEY": "cancel-key-123"})

        def failed_up(extra: dict[str, str | None], n: int) -> str:
            emu.inject_fault("project.create", latency=6.0)  # the new stack's "slow" create
            stack = pulumi_stack(program, env={**env, **extra}, stack=f"run-{n}")
            stack.init()
            result = stack.up(expect_failure=True)
            assert error in result.output, result.describe()
            return result.output

        for n in range(RUNS_WITH_HOOK):
            output = failed_up({}, n)
            assert "KeyboardInterrupt" not in output and "Traceback" not in output, output

        # The same failure with the hook turned off: the interrupt's traceback is what it removes.
        outputs = []
        for n in range(MAX_RUNS_WITHOUT_HOOK):
            outputs.append(failed_up({"DOKPLOY_PULUMI_TRACEBACKS": "1"}, RUNS_WITH_HOOK + n))
            if "KeyboardInterrupt" in outputs[-1]:
                break
        assert "KeyboardInterrupt" in outputs[-1], f"not once in {len(outputs)} runs:\n{outputs[-1]}"
