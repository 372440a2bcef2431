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
"""

from __future__ import annotations

import os
import sys
import threading
import traceback
import types
from collections.abc import Callable
from typing import Any, Optional

#: Set to 1 to keep the SDK's full tracebacks for every error.
ENV_VAR = "DOKPLOY_PULUMI_TRACEBACKS"
SERVER_MODULE = "pulumi.dynamic.__main__"

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


def install(is_user_error: Callable[[BaseException], bool], environ: Optional[dict[str, str]] = None) -> bool:
    """Make the provider server report errors for which `is_user_error(exc)` holds as `str(exc)`.

    Returns whether it is (now) installed. Call it from inside the provider process (configure is
    a good place); a later call replaces the predicate. Safe anywhere else: it then does nothing.
    """
    env = os.environ if environ is None else environ
    if env.get(ENV_VAR, "").strip() not in ("", "0"):
        return False
    with _lock:
        main = _server_module()
        if main is None:
            return False
        main.traceback = _TracebackForUsers(traceback, is_user_error)  # type: ignore[attr-defined]
        return True


def uninstall() -> None:
    """Restore the SDK's behaviour (for tests)."""
    with _lock:
        main = sys.modules.get("__main__")
        if isinstance(getattr(main, "traceback", None), _TracebackForUsers):
            main.traceback = traceback  # type: ignore[union-attr]
