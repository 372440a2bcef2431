"""A stop (SIGINT) of an xdist run ends it through its workers, so that their finalizers run whole.

The SIGINT of a stop (scripts/test.sh's REAL_DEADLINE, Ctrl-C) reaches a run's whole process group.
xdist's controller, on its KeyboardInterrupt, tells the workers to exit, and a worker that has not
ended 5 s later is ended with os._exit: a finalizer that takes longer (a test's `pulumi destroy`, the
session's sweep of what a run left on a real server) was cut off, and its objects stayed there. The
controller now lets the first SIGINT pass to the workers: each ends its tests as pytest does on
Ctrl-C, runs every finalizer and reports, and the controller ends the run when they have (exit 2,
interrupted). A second SIGINT stops the controller at once, as before.
"""

from __future__ import annotations

import signal
from types import FrameType

import pytest


def _first_sigint(signum: int, frame: FrameType | None) -> None:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    controller = not hasattr(config, "workerinput") and config.pluginmanager.has_plugin("dsession")
    if controller and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _first_sigint)
