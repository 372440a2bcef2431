"""A stop (SIGINT) of an xdist run ends it through its workers, so that their finalizers run whole.

The SIGINT of a stop (scripts/test.sh's REAL_DEADLINE, Ctrl-C) reaches a run's whole process group:
the controller and its workers. xdist's controller, on its KeyboardInterrupt, told the workers to exit
and ended each one still busy 5 s later with os._exit: a finalizer that takes longer (a test's
`pulumi destroy`, the session's sweep of what a run left on a real server) was cut off, and its
objects stayed there. Once its tests run, the controller now takes the first SIGINT as a request to
stop: it starts no more tests and replaces no worker (one that the signal ended while starting would
have been replaced, and the run gone on), and ends when its workers have ended their tests as pytest
does on Ctrl-C, run every finalizer and reported (exit 2, interrupted). A second SIGINT, or one before
the tests run, stops the controller at once, as before. This relies on pytest-xdist's DSession
(`sched`, `shouldstop`, `_max_worker_restart`; 3.8.0 in constraints.txt).
"""

from __future__ import annotations

import signal
from types import FrameType

import pytest


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    dsession = config.pluginmanager.get_plugin("dsession")  # the controller of an xdist run only
    if dsession is None or signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        return  # SIGINT ignored (a background job's): nothing to change

    def first_sigint(signum: int, frame: FrameType | None) -> None:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        if getattr(dsession, "sched", None) is None:
            raise KeyboardInterrupt  # no test has started: nothing to wait for
        dsession._max_worker_restart = 0
        dsession.shouldstop = "stopped by SIGINT: the workers end their tests and finalizers"

    signal.signal(signal.SIGINT, first_sigint)
