"""`_oneline_errors.quiet_cancelled_program`: in the language host's program process only, an
uncaught KeyboardInterrupt (the engine's cancel) ends the program without a traceback; every other
error still prints. Each case runs in a fresh interpreter (the hook is process-wide)."""

from __future__ import annotations

import subprocess
import sys

import pytest

SCRIPT = """
import sys
from dokploy_pulumi import _oneline_errors
installed = _oneline_errors.quiet_cancelled_program(environ={environ!r}, argv={argv!r})
print("installed" if installed else "not installed", flush=True)
try:
    raise {error}("boom")
finally:
    print("finally ran", flush=True)
"""

EXEC = [sys.executable, "/opt/pulumi/bin/pulumi-language-python-exec", "--monitor", "127.0.0.1:1", "."]


def run(error: str, argv: list[str], environ: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    code = SCRIPT.format(error=error, argv=argv, environ=environ or {})
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)


def test_the_engines_interrupt_prints_nothing_in_the_program_process():
    result = run("KeyboardInterrupt", EXEC)
    assert result.stdout.splitlines() == ["installed", "finally ran"]  # it still stops the same way
    assert result.stderr == ""
    assert result.returncode != 0


def test_any_other_error_still_prints_its_traceback():
    result = run("ValueError", EXEC)
    assert "Traceback" in result.stderr and "ValueError: boom" in result.stderr


@pytest.mark.parametrize(
    ("argv", "environ"),
    [
        ([sys.executable, "review.py", "up", "42"], {}),  # an Automation API process: not ours to change
        (EXEC, {"DOKPLOY_PULUMI_TRACEBACKS": "1"}),  # asked for every traceback
    ],
)
def test_elsewhere_or_when_asked_the_interrupt_still_prints(argv: list[str], environ: dict[str, str]):
    result = run("KeyboardInterrupt", argv, environ)
    assert result.stdout.splitlines()[0] == "not installed"
    assert "KeyboardInterrupt: boom" in result.stderr


UNRAISABLE = """
import sys, threading, time
from dokploy_pulumi import _oneline_errors
print(_oneline_errors.quiet_cancelled_program(environ={{}}, argv={argv!r}), flush=True)


class Interrupted:
    def __del__(self):
        raise {error}("in a finalizer")


Interrupted()  # reported through sys.unraisablehook, as an interrupt during shutdown is
print("went on", flush=True)
"""


@pytest.mark.parametrize(("error", "quiet"), [("KeyboardInterrupt", True), ("ValueError", False)])
def test_an_interrupt_python_can_only_report_as_unraisable_prints_nothing_either(error: str, quiet: bool):
    code = UNRAISABLE.format(argv=EXEC, error=error)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert result.stdout.splitlines() == ["True", "went on"]
    if quiet:
        assert result.stderr == ""
    else:
        assert "Exception ignored" in result.stderr and "ValueError: in a finalizer" in result.stderr
