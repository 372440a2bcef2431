"""Show a provider's own errors in the Pulumi CLI as one line, without the SDK's Python traceback.

Why: the SDK's dynamic-provider server wraps every provider method in `_abort_with_traceback`
(`pulumi/dynamic/__main__.py`, SDK 3.260 to 3.272), which answers the engine with
`context.abort(grpc.StatusCode.UNKNOWN, traceback.format_exc())`, and the engine prints that
string as the resource's error. No exception type, gRPC status or detail is treated specially
there (a second `context.abort` would overwrite any status the provider set), so the one lever a
provider has is the `traceback` name that wrapper looks up in its module's globals when it runs.

`install` replaces that name, in the server module only, with a proxy of the `traceback` module
whose `format_exc()` returns just the message when the exception being handled is one the
provider worded for users (`is_user_error`), and the full traceback otherwise, so a bug still
shows where it happened. Nothing else in the process changes; if the server module does not look
as expected (another SDK layout), nothing is installed and the SDK's tracebacks stay.
`DOKPLOY_PULUMI_TRACEBACKS=1` keeps the tracebacks for everything (for debugging).

The program side (`quiet_cancelled_program`): when an `up` fails, the engine cancels the program,
which is still waiting for the outputs of the failed resource, and the Python language host
cancels a program by sending it SIGINT (`cmd.Cancel` in pulumi-language-python's `Run`; the CLI
and its engine send the same on Ctrl-C). Python turns that into a `KeyboardInterrupt` in the
language host's `pulumi-language-python-exec` script, first while its event loop waits and again
while `executor.shutdown(wait=True)` joins the threads, and prints both tracebacks to stderr,
which the CLI shows under the stack in front of the resource's own error. The interrupt is the
engine stopping the program, not an error of the program: in that process only, an uncaught
`KeyboardInterrupt` ends it without the traceback (everything else still prints as before). The
program still stops exactly as it did (the exception propagates, `finally` blocks run, the exit
status is the same); only the printout goes.
"""

from __future__ import annotations

import os
import sys
import threading
import traceback
import types
from collections.abc import Callable, Mapping
from typing import Any, Optional

#: Set to 1 to keep the SDK's full tracebacks for every error.
ENV_VAR = "DOKPLOY_PULUMI_TRACEBACKS"
SERVER_MODULE = "pulumi.dynamic.__main__"
#: The script the Python language host runs programs with (its basename in the process's argv).
PROGRAM_EXEC = "pulumi-language-python-exec"

_lock = threading.Lock()


class _TracebackForUsers(types.ModuleType):
    """The `traceback` module, except that format_exc() is one line for errors worded for users."""

    def __init__(self, real: types.ModuleType, is_user_error: Callable[[BaseException], bool]) -> None:
        super().__init__(real.__name__, real.__doc__)
        self._real = real
        self._is_user_error = is_user_error

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def format_exc(self, limit: Optional[int] = None, chain: bool = True) -> str:
        exc = sys.exc_info()[1]
        try:
            worded = exc is not None and self._is_user_error(exc)
        except Exception:  # a faulty predicate must not hide the error itself
            worded = False
        if worded:
            return str(exc)
        return str(self._real.format_exc(limit=limit, chain=chain))


def _server_module() -> Optional[types.ModuleType]:
    """The SDK's dynamic-provider server module, if this process runs it and it looks as expected."""
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    if main is None or getattr(spec, "name", None) != SERVER_MODULE:
        return None
    if not callable(getattr(main, "_abort_with_traceback", None)):
        return None
    current = getattr(main, "traceback", None)
    if current is not traceback and not isinstance(current, _TracebackForUsers):
        return None
    return main


def install(is_user_error: Callable[[BaseException], bool], environ: Optional[Mapping[str, str]] = None) -> bool:
    """Make the provider server report errors for which `is_user_error(exc)` holds as `str(exc)`.

    Returns whether it is (now) installed. Call it from inside the provider process (configure is
    a good place); a later call replaces the predicate. Safe anywhere else: it then does nothing.
    """
    if _keep_tracebacks(environ):
        return False
    with _lock:
        main = _server_module()
        if main is None:
            return False
        main.traceback = _TracebackForUsers(traceback, is_user_error)  # type: ignore[attr-defined]
        return True


def _keep_tracebacks(environ: Optional[Mapping[str, str]]) -> bool:
    env = os.environ if environ is None else environ
    return env.get(ENV_VAR, "").strip() not in ("", "0")


class _QuietInterrupt:
    """sys.excepthook, except that an uncaught KeyboardInterrupt prints nothing."""

    def __init__(self, previous: Callable[..., Any]) -> None:
        self.previous = previous

    def __call__(self, exc_type: type[BaseException], exc: BaseException, tb: Any) -> Any:
        if issubclass(exc_type, KeyboardInterrupt):
            return None
        return self.previous(exc_type, exc, tb)


class _QuietUnraisableInterrupt:
    """sys.unraisablehook, except that a KeyboardInterrupt prints nothing: the cancel can also land
    while the interpreter shuts down (joining the executor's threads), where Python reports it as
    "Exception ignored in: <module 'threading'>" with the traceback."""

    def __init__(self, previous: Callable[..., Any]) -> None:
        self.previous = previous

    def __call__(self, unraisable: Any) -> Any:
        if isinstance(unraisable.exc_value, KeyboardInterrupt):
            return None
        return self.previous(unraisable)


def quiet_cancelled_program(environ: Optional[Mapping[str, str]] = None, argv: Optional[list[str]] = None) -> bool:
    """In a program run by the Python language host, stop the engine's cancel (SIGINT) from
    printing a KeyboardInterrupt traceback. Returns whether the hook is (now) installed.

    Does nothing anywhere else (an Automation API process running an inline program, the provider
    process, tests), with DOKPLOY_PULUMI_TRACEBACKS=1, or when the program set its own excepthook.
    """
    if _keep_tracebacks(environ):
        return False
    original = sys.orig_argv if argv is None else argv
    # runpy rewrites sys.argv[0] to the program's path; orig_argv keeps the interpreter's own.
    if not any(os.path.basename(a) == PROGRAM_EXEC for a in original[:3]):
        return False
    with _lock:
        if isinstance(sys.excepthook, _QuietInterrupt):
            return True
        if sys.excepthook is not sys.__excepthook__:
            return False
        sys.excepthook = _QuietInterrupt(sys.excepthook)
        if sys.unraisablehook is sys.__unraisablehook__:
            sys.unraisablehook = _QuietUnraisableInterrupt(sys.unraisablehook)
        return True


def uninstall() -> None:
    """Restore the SDK's behaviour (for tests)."""
    with _lock:
        main = sys.modules.get("__main__")
        if isinstance(getattr(main, "traceback", None), _TracebackForUsers):
            main.traceback = traceback  # type: ignore[union-attr]
        if isinstance(sys.excepthook, _QuietInterrupt):
            sys.excepthook = sys.excepthook.previous
        if isinstance(sys.unraisablehook, _QuietUnraisableInterrupt):
            sys.unraisablehook = sys.unraisablehook.previous
