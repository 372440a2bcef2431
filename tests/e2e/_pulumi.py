"""Drives the real Pulumi CLI for e2e tests.

Every stack lives in its own temporary folder: a local file backend, a private PULUMI_HOME and
a copy of the program, so tests never share state and never reach Pulumi Cloud or any host
other than 127.0.0.1 (no update check, no plugin downloads).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

REPO_ROOT = Path(__file__).resolve().parents[2]
INSTALL_SCRIPT = REPO_ROOT / "scripts" / "install-pulumi.sh"
# Where scripts/install-pulumi.sh builds the CLI (an ignored folder).
TOOLS_BIN = REPO_ROOT / ".tools" / "bin"

# Per CLI command; below pytest's per-test timeout so a hang fails with the CLI's output.
COMMAND_TIMEOUT = 240.0
# Against a real server (tests/e2e/test_real_*.py): a hang guard, not a speed limit. In a cold CI run
# a dev-mode Dokploy answers in seconds per request (three of them, beside the emulator tiers, on 2
# cores), and a lifecycle's `pulumi up` that takes a minute alone can take four.
COMMAND_TIMEOUT_REAL = 900.0
# A cold build of the CLI from Go modules; see scripts/install-pulumi.sh.
INSTALL_TIMEOUT = 3600.0


class PulumiCommandError(AssertionError):
    """A CLI command did not end as expected; the message carries its whole output."""

    def __init__(self, message: str, result: CommandResult) -> None:
        super().__init__(f"{message}\n{result.describe()}")
        self.result = result


@dataclass(frozen=True)
class CommandResult:
    args: Sequence[str]
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        """stdout and stderr together, for asserting on messages wherever the CLI put them."""
        return self.stdout + "\n" + self.stderr

    def describe(self) -> str:
        return (
            f"$ {' '.join(self.args)}\nexit code: {self.returncode}\n"
            f"--- stdout ---\n{self.stdout}\n--- stderr ---\n{self.stderr}"
        )


@dataclass(frozen=True)
class Step:
    """One step of a preview: what the engine would do to which resource."""

    op: str
    type: str
    urn: str

    @property
    def name(self) -> str:
        return self.urn.rsplit("::", 1)[-1]


@dataclass(frozen=True)
class Preview:
    """`pulumi preview --json`: the parsed document and the raw command result."""

    data: dict[str, Any]
    result: CommandResult

    def steps(self, include_stack: bool = False) -> list[Step]:
        steps = []
        for raw in self.data.get("steps", []):
            state = raw.get("newState") or raw.get("oldState") or {}
            step = Step(op=raw["op"], type=state.get("type", ""), urn=raw["urn"])
            if include_stack or step.type != "pulumi:pulumi:Stack":
                steps.append(step)
        return steps

    @property
    def change_summary(self) -> dict[str, int]:
        return dict(self.data.get("changeSummary") or {})

    @property
    def diagnostics(self) -> list[dict[str, Any]]:
        return list(self.data.get("diagnostics") or [])


def install_pulumi(timeout: float = INSTALL_TIMEOUT) -> Path:
    """Runs scripts/install-pulumi.sh (fast once built) and returns the folder to put on PATH."""
    proc = subprocess.run(
        ["bash", str(INSTALL_SCRIPT)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"scripts/install-pulumi.sh failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return Path(lines[-1])


def cli_ready() -> bool:
    """Whether our build of the CLI is there, so that install_pulumi() is quick.

    (A `pulumi` on PATH may be too old to be used, so it does not count.)
    """
    return (TOOLS_BIN / "pulumi").exists()


class PulumiStack:
    """One stack of one Pulumi program, run with the real CLI.

    `program_dir` is copied to `work_dir/program`; state, PULUMI_HOME and the copy all live in
    `work_dir`. `env` adds to (or, with None values, removes from) the CLI's environment.
    """

    def __init__(
        self,
        program_dir: Path,
        work_dir: Path,
        bin_dir: Path,
        *,
        stack: str = "e2e",
        env: Optional[Mapping[str, Optional[str]]] = None,
        passphrase: str = "e2e-test-passphrase",
        timeout: float = COMMAND_TIMEOUT,
    ) -> None:
        self.stack = stack
        self.timeout = timeout
        self.program_dir = work_dir / "program"
        shutil.copytree(program_dir, self.program_dir, dirs_exist_ok=True)
        state_dir = work_dir / "state"
        home_dir = work_dir / "pulumi-home"
        state_dir.mkdir(parents=True, exist_ok=True)
        home_dir.mkdir(parents=True, exist_ok=True)

        # The program's modules (provider classes) and the repo's package must be importable
        # both by the program and by the dynamic-provider process the engine starts.
        python_path = [str(self.program_dir), str(REPO_ROOT)]
        if os.environ.get("PYTHONPATH"):
            python_path.append(os.environ["PYTHONPATH"])

        merged = dict(os.environ)
        # Never let an ambient login or token point the CLI at a service.
        for key in ("PULUMI_ACCESS_TOKEN", "PULUMI_API", "PULUMI_CONFIG_PASSPHRASE_FILE"):
            merged.pop(key, None)
        merged.update(
            {
                "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
                "PULUMI_BACKEND_URL": f"file://{state_dir}",
                "PULUMI_CONFIG_PASSPHRASE": passphrase,
                "PULUMI_HOME": str(home_dir),
                "PULUMI_SKIP_UPDATE_CHECK": "1",
                "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
                # The interpreter running the tests runs the program and the dynamic provider
                # (honoured by our shims and by upstream's).
                "PULUMI_PYTHON_CMD": sys.executable,
                "PYTHONPATH": os.pathsep.join(python_path),
                "PYTHONUNBUFFERED": "1",
            }
        )
        for key, value in (env or {}).items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        self.env = merged

    # -- raw access ---------------------------------------------------------------------------

    def run(self, *args: str, expect_failure: bool = False, stack_scoped: bool = True) -> CommandResult:
        """Runs `pulumi ARGS` in the program folder; raises unless it ends as expected."""
        flags = ["--non-interactive", "--color=never"]
        if stack_scoped:
            flags += ["--stack", self.stack]
        # Our flags go before a "--" (after it everything is a positional argument).
        split = args.index("--") if "--" in args else len(args)
        cmd = ["pulumi", *args[:split], *flags, *args[split:]]
        try:
            proc = subprocess.run(
                cmd,
                cwd=self.program_dir,
                env=self.env,
                capture_output=True,
                text=True,
                timeout=self.timeout,
                stdin=subprocess.DEVNULL,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            result = CommandResult(cmd, -1, _text(exc.stdout), _text(exc.stderr))
            raise PulumiCommandError(f"timed out after {self.timeout} s", result) from exc
        result = CommandResult(cmd, proc.returncode, proc.stdout, proc.stderr)
        if expect_failure and result.returncode == 0:
            raise PulumiCommandError("expected the command to fail, it succeeded", result)
        if not expect_failure and result.returncode != 0:
            raise PulumiCommandError("the command failed", result)
        return result

    # -- stack and config ---------------------------------------------------------------------

    def init(self) -> CommandResult:
        return self.run("stack", "init", self.stack, stack_scoped=False)

    def set_config(self, key: str, value: str, secret: bool = False) -> CommandResult:
        # `--` so that values starting with "-" are not taken for flags.
        flags = ["--secret"] if secret else ["--plaintext"]
        return self.run("config", "set", *flags, "--", key, value)

    # -- operations ---------------------------------------------------------------------------

    def preview(self, expect_no_changes: bool = False, expect_failure: bool = False) -> Preview:
        args = ["preview", "--json"]
        if expect_no_changes:
            args.append("--expect-no-changes")
        result = self.run(*args, expect_failure=expect_failure)
        try:
            data = json.loads(result.stdout) if result.stdout.strip() else {}
        except json.JSONDecodeError as exc:
            raise PulumiCommandError("preview --json printed no JSON", result) from exc
        return Preview(data=data, result=result)

    def up(self, expect_failure: bool = False, skip_preview: bool = False) -> CommandResult:
        args = ["up", "--yes"] + (["--skip-preview"] if skip_preview else [])
        return self.run(*args, expect_failure=expect_failure)

    def refresh(self, expect_failure: bool = False, expect_no_changes: bool = False) -> CommandResult:
        args = ["refresh", "--yes"] + (["--expect-no-changes"] if expect_no_changes else [])
        return self.run(*args, expect_failure=expect_failure)

    def destroy(self, expect_failure: bool = False) -> CommandResult:
        return self.run("destroy", "--yes", expect_failure=expect_failure)

    # -- state --------------------------------------------------------------------------------

    def export(self, show_secrets: bool = False) -> dict[str, Any]:
        """`pulumi stack export`: the checkpoint (deployment) document."""
        args = ["stack", "export"] + (["--show-secrets"] if show_secrets else [])
        return json.loads(self.run(*args).stdout)

    def resources(self, show_secrets: bool = False) -> list[dict[str, Any]]:
        """The resources in the state, stack and providers included."""
        deployment = self.export(show_secrets=show_secrets).get("deployment") or {}
        return list(deployment.get("resources") or [])

    def outputs(self, show_secrets: bool = False) -> dict[str, Any]:
        """`pulumi stack output --json`; secrets read "[secret]" unless show_secrets."""
        args = ["stack", "output", "--json"] + (["--show-secrets"] if show_secrets else [])
        return json.loads(self.run(*args).stdout)


# What the `pulumi_stack` fixture returns: make(program_dir, env=None, stack="e2e").
PulumiStackFactory = Callable[..., PulumiStack]


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)
