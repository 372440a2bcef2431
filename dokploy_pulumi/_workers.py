"""Opt-in: let the SDK's dynamic-provider server run more than 4 operations at once.

Why: `pulumi/dynamic/__main__.py` serves every dynamic provider with
`grpc.server(futures.ThreadPoolExecutor(max_workers=4))`, hard-coded (SDK 3.260 to 3.272 at
least), so a stack never has more than 4 Dokploy operations in flight, whatever `--parallel`
says. The provider code cannot pass another executor: the server exists before any provider
module is imported. It can, however, raise the cap of that executor from inside one of its own
worker threads, which is what `apply_from_env` does, once per process, when
`DOKPLOY_PULUMI_PROVIDER_WORKERS` asks for it.

How, and what it relies on: a `ThreadPoolExecutor` worker thread runs
`concurrent.futures.thread._worker` with a weak reference to its executor as its first argument
(checked in CPython 3.8 to 3.13), and the executor starts
a new thread on `submit` while it has fewer than `_max_workers` threads and none idle. Raising
`_max_workers` (under the executor's own lock) therefore lets gRPC's next submissions start
more threads; nothing else changes. Both are private attributes of the standard library, so
every step is checked and anything unexpected leaves the server exactly as it was.

Why it is safe for these providers: they already serve 4 threads at once with one configured
provider instance and one shared HTTP connection pool (httpx allows 100 connections); the SDK's
per-call work (`configure(Settings)`, a new event loop per (de)serialisation, `get_provider`
under a lock) is per thread. More threads only means more requests in flight at Dokploy, which
the user asked for with `--parallel`.
"""

from __future__ import annotations

import os
import sys
import threading
import weakref
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import thread as _thread_module
from typing import Optional

#: The switch: a number of worker threads (5 to MAX_WORKERS) for the provider server. Unset, empty
#: or "0" leaves the SDK's 4. Match it to `pulumi up --parallel` (the CLI's default is 4 x CPUs).
ENV_VAR = "DOKPLOY_PULUMI_PROVIDER_WORKERS"
MAX_WORKERS = 64
#: The module name the SDK's dynamic-provider server runs as (`python -m pulumi.dynamic`).
SERVER_MODULE = "pulumi.dynamic.__main__"

_lock = threading.Lock()
_applied = False


def requested_workers(environ: Optional[Mapping[str, str]] = None) -> Optional[int]:
    """The number of workers the switch asks for, or None (unset, 0, or not a number)."""
    raw = (os.environ if environ is None else environ).get(ENV_VAR, "").strip()
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        print(f"dokploy_pulumi: ignoring {ENV_VAR}={raw!r}: not a whole number", file=sys.stderr)
        return None
    if value <= 0:
        return None
    return min(value, MAX_WORKERS)


def current_executor() -> Optional[ThreadPoolExecutor]:
    """The ThreadPoolExecutor whose worker thread is running this call, or None."""
    thread = threading.current_thread()
    # Only a thread that runs the executor's worker loop (a thread is added to the executor's
    # `_threads` only after it started, so that set cannot tell yet).
    if getattr(thread, "_target", None) is not getattr(_thread_module, "_worker", object()):
        return None
    args = getattr(thread, "_args", None)
    if not isinstance(args, tuple) or not args or not isinstance(args[0], weakref.ReferenceType):
        return None
    executor = args[0]()
    if not isinstance(executor, ThreadPoolExecutor):
        return None
    if not isinstance(getattr(executor, "_max_workers", None), int):
        return None
    if getattr(executor, "_shutdown_lock", None) is None:
        return None
    return executor


def lift_current_executor(workers: int) -> Optional[int]:
    """Raise the worker cap of the executor running this thread to `workers` (never lowers it).

    Returns the cap it had, or None when this thread is not an executor's worker (nothing changed).
    """
    executor = current_executor()
    if executor is None:
        return None
    with executor._shutdown_lock:  # what submit() holds while it reads _max_workers
        before = executor._max_workers
        if workers > before:
            executor._max_workers = workers
    return before


def in_dynamic_provider_server() -> bool:
    """Whether this process is the SDK's dynamic-provider server (`python -m pulumi.dynamic`)."""
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    return getattr(spec, "name", None) == SERVER_MODULE


def apply_from_env(environ: Optional[Mapping[str, str]] = None) -> Optional[int]:
    """Lift the provider server's cap to the switch's value, once per process; the new cap or None.

    Call it from a provider method that the server runs in its worker threads (configure does:
    the server calls it inside the first Check/Create/Read/... of each provider). Does nothing
    unless the switch is set and this is the SDK's dynamic-provider server.
    """
    global _applied
    workers = requested_workers(environ)
    if workers is None or _applied:
        return None
    if not in_dynamic_provider_server():
        return None
    with _lock:
        if _applied:
            return None
        before = lift_current_executor(workers)
        if before is None:
            print(
                f"dokploy_pulumi: {ENV_VAR} ignored: the provider server's thread pool was not found",
                file=sys.stderr,
            )
            return None
        _applied = True
    return max(before, workers)
