#!/usr/bin/env python3
"""A small Pulumi language host for Python (the ``pulumi-language-python`` plugin).

Why this exists: the Pulumi CLI does not run a Python program itself; it starts the language
plugin ``pulumi-language-python`` and asks it, over gRPC, to run the program against the
engine's resource monitor. Upstream that plugin is the Go module
``github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3``, which the Go module proxy
we can reach does not serve at any version, so it cannot be built here, while the CLI itself
(``github.com/pulumi/pulumi/pkg/v3``) can. This file implements the ``LanguageRuntime`` service
with the generated stubs that ship in the Python SDK, enough for ``preview``, ``up``,
``refresh``, ``destroy``, ``stack output`` and ``config``. ``scripts/install-pulumi.sh`` puts a
``pulumi-language-python`` shim next to the CLI that execs this file with the repo's venv Python.

Two modes:

* host mode (what the engine starts): ``pulumi_language_python.py [--logtostderr] [-v=N]
  [--tracing URL] ENGINE_ADDRESS``. Serves gRPC on 127.0.0.1 and prints the port as the first
  stdout line, as every plugin does.
* program mode (``--run-program ...``): the child process that ``Run`` starts for each program
  run. It configures ``pulumi.runtime`` from its flags and from ``PULUMI_CONFIG`` /
  ``PULUMI_CONFIG_SECRET_KEYS`` and runs the program, following the same contract as upstream's
  ``pulumi-language-python-exec``. A child process keeps every run isolated and lets the
  program's stdout/stderr flow to the engine, which shows them as diagnostics.

Deliberately skipped (not needed by this project): the ``virtualenv``/``toolchain`` runtime
options (the program always runs with the interpreter that runs this host), dependency
installation, required-plugin discovery from installed packages, ``RunPlugin`` (Python source
plugins), debugger attach, code generation (``Template``, ``Generate*``, ``Pack``, ``Link``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent import futures
from importlib import metadata
from typing import Any, NoReturn, Optional

# Exit code a program run uses to say "the error was already shown to the user": the host then
# answers Run with bail=true so the engine adds no message of its own (upstream uses 32 too).
EXIT_ERROR_ALREADY_SHOWN = 32

# The engine sends whole property maps over this channel; upstream allows 400 MiB.
_MAX_MESSAGE = 400 * 1024 * 1024


# --------------------------------------------------------------------------------------------
# Host mode
# --------------------------------------------------------------------------------------------


def _serve(argv: list[str]) -> NoReturn:
    # Imported here so that program mode stays as light as the SDK import it needs anyway.
    import grpc
    from google.protobuf import empty_pb2
    from pulumi.runtime.proto import language_pb2, language_pb2_grpc, plugin_pb2

    # The engine passes optional logging/tracing flags, then the engine address last
    # (see buildArgsForNewPlugin/buildPluginArguments in sdk/go/common/resource/plugin).
    ap = argparse.ArgumentParser(prog="pulumi-language-python")
    ap.add_argument("--logtostderr", action="store_true")
    ap.add_argument("-v", dest="verbose", default=None)
    ap.add_argument("--tracing", default="")
    ap.add_argument("engine_address", nargs="?", default="")
    args, _unknown = ap.parse_known_args(argv)

    class LanguageHost(language_pb2_grpc.LanguageRuntimeServicer):
        """The RPCs the v3.260 engine uses for preview/up/refresh/destroy/config/about."""

        def __init__(self, engine_address: str, tracing: str) -> None:
            self.engine_address = engine_address
            self.tracing = tracing
            self._children: set[subprocess.Popen[bytes]] = set()
            self._lock = threading.Lock()

        # Only used when the engine attaches to an already running host (PULUMI_DEBUG_LANGUAGES);
        # a launched host gets the engine address on its command line instead.
        def Handshake(self, request: Any, context: Any) -> Any:
            if request.engine_address:
                self.engine_address = request.engine_address
            return language_pb2.LanguageHandshakeResponse()

        def GetPluginInfo(self, request: Any, context: Any) -> Any:
            return plugin_pb2.PluginInfo(version=metadata.version("pulumi"))

        # A dynamic-provider program needs no plugin besides the bundled pulumi-python resource
        # plugin, which the engine finds by itself when the first dynamic resource registers.
        def GetRequiredPlugins(self, request: Any, context: Any) -> Any:
            return language_pb2.GetRequiredPluginsResponse()

        def GetRequiredPackages(self, request: Any, context: Any) -> Any:
            return language_pb2.GetRequiredPackagesResponse()

        def Run(self, request: Any, context: Any) -> Any:
            return self._run(request)

        # `pulumi install` / `pulumi new` call this; dependencies are the venv's business here.
        def InstallDependencies(self, request: Any, context: Any) -> Iterator[Any]:
            return iter(())

        def RuntimeOptionsPrompts(self, request: Any, context: Any) -> Any:
            return language_pb2.RuntimeOptionsResponse()

        def About(self, request: Any, context: Any) -> Any:
            return language_pb2.AboutResponse(
                executable=sys.executable,
                version=platform.python_version(),
                metadata={"host": "dokploy_pulumi scripts/pulumi_language_python.py"},
            )

        # Used by `pulumi about` and update metadata: what is installed in this interpreter.
        def GetProgramDependencies(self, request: Any, context: Any) -> Any:
            names = {(d.metadata["Name"], d.version) for d in metadata.distributions()}
            deps = sorted((name, version) for name, version in names if name)
            return language_pb2.GetProgramDependenciesResponse(
                dependencies=[language_pb2.DependencyInfo(name=n, version=v) for n, v in deps]
            )

        # Sent on cancellation (Ctrl-C); the program gets SIGINT like it would from a terminal.
        def Cancel(self, request: Any, context: Any) -> Any:
            with self._lock:
                for child in self._children:
                    if child.poll() is None:
                        child.send_signal(signal.SIGINT)
            return empty_pb2.Empty()

        def _run(self, req: Any) -> Any:
            info = req.info
            program_dir = info.program_directory or req.pwd or os.getcwd()
            entry = info.entry_point or req.program or "."
            program = os.path.normpath(os.path.join(program_dir, entry))
            cmd = [sys.executable, "-u", os.path.abspath(__file__), "--run-program"]
            flags = {
                "monitor": req.monitor_address,
                "engine": self.engine_address,
                "project": req.project,
                "stack": req.stack,
                "pwd": req.pwd or program_dir,
                "dry_run": "true" if req.dryRun else "false",
                "parallel": str(req.parallel),
                "tracing": self.tracing,
                "organization": req.organization,
                "root_directory": info.root_directory or program_dir,
            }
            for key, value in flags.items():
                if value:
                    cmd += [f"--{key}", value]
            cmd += ["--", program, *req.args]

            # The SDK reads config from these two variables (pulumi.runtime.config).
            env = dict(os.environ)
            env["PULUMI_CONFIG"] = json.dumps(dict(req.config))
            env["PULUMI_CONFIG_SECRET_KEYS"] = json.dumps(list(req.configSecretKeys))

            # stdout/stderr are inherited: the engine streams this process's output as
            # diagnostics, so `print` in a program shows up like with the real host.
            sys.stdout.flush()
            try:
                child = subprocess.Popen(cmd, cwd=flags["pwd"], env=env)
            except OSError as exc:
                return language_pb2.RunResponse(
                    error=f"Problem executing program (could not run language executor): {exc}"
                )
            with self._lock:
                self._children.add(child)
            try:
                code = child.wait()
            finally:
                with self._lock:
                    self._children.discard(child)

            if code == 0:
                return language_pb2.RunResponse()
            if code == EXIT_ERROR_ALREADY_SHOWN:
                return language_pb2.RunResponse(bail=True)
            return language_pb2.RunResponse(error=f"Program exited with non-zero exit code: {code}")

    options = [
        ("grpc.max_receive_message_length", _MAX_MESSAGE),
        ("grpc.max_send_message_length", _MAX_MESSAGE),
    ]
    # Run blocks for the whole program run, so leave room for the engine's other calls.
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8), options=options)
    language_pb2_grpc.add_LanguageRuntimeServicer_to_server(
        LanguageHost(args.engine_address, args.tracing), server
    )
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    # The engine reads the port from the first stdout line.
    print(port, flush=True)

    # The engine stops plugins with SIGINT (then SIGKILL after 5 s): exit quietly and quickly.
    stopped = threading.Event()

    def _stop(signum: int, frame: Any) -> None:
        stopped.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    while not stopped.wait(1.0):
        pass
    server.stop(grace=1).wait()
    sys.exit(0)


# --------------------------------------------------------------------------------------------
# Program mode
# --------------------------------------------------------------------------------------------


def _user_traceback(program: str) -> str:
    """The current exception's traceback, starting at the first frame inside the program.

    Frames of this runner, runpy and the event loop only hide the user's error.
    """
    import traceback

    tb = traceback.extract_tb(sys.exc_info()[2])
    root = program if os.path.isdir(program) else os.path.dirname(program)
    root = os.path.abspath(root) + os.sep
    for index, frame in enumerate(tb):
        # Relative names such as "<frozen runpy>" are never program files.
        if os.path.isabs(frame.filename) and frame.filename.startswith(root):
            return traceback.format_exc(limit=-(len(tb) - index))
    return traceback.format_exc()


def _run_program(argv: list[str]) -> NoReturn:
    ap = argparse.ArgumentParser(prog="pulumi_language_python.py --run-program")
    for flag in (
        "monitor",
        "engine",
        "project",
        "stack",
        "pwd",
        "dry_run",
        "parallel",
        "tracing",
        "organization",
        "root_directory",
    ):
        ap.add_argument(f"--{flag}", default=None)
    ap.add_argument("program")
    ap.add_argument("program_args", nargs="*")
    args = ap.parse_args(argv)

    # `python path/to/this_file.py` put the scripts folder first on sys.path; the program must
    # not see it (runpy puts the program's own folder there instead).
    here = os.path.dirname(os.path.abspath(__file__))
    if sys.path and os.path.abspath(sys.path[0] or ".") == here:
        sys.path.pop(0)

    import asyncio
    import logging
    import runpy

    try:
        import pulumi
        import pulumi.runtime
    except ImportError:
        import traceback

        print(traceback.format_exc(), file=sys.stderr)
        print(f"The Pulumi SDK is not installed for {sys.executable}.", file=sys.stderr)
        sys.exit(1)

    pulumi.runtime.set_all_config(
        pulumi.runtime.get_config_env(), pulumi.runtime.get_config_secret_keys_env()
    )
    parallel = int(args.parallel) if args.parallel else None
    settings = pulumi.runtime.Settings(
        project=args.project,
        stack=args.stack,
        monitor=args.monitor,
        engine=args.engine,
        parallel=parallel,
        dry_run=args.dry_run == "true",
        organization=args.organization,
        root_directory=args.root_directory,
    )
    pulumi.runtime.configure(settings)

    sys.argv = [args.program, *args.program_args]
    if args.pwd:
        os.chdir(args.pwd)

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    # Same sizing as upstream: blocking work (e.g. dynamic-provider pickling) runs on this pool.
    executor: Optional[futures.ThreadPoolExecutor] = None
    if parallel is not None:
        executor = futures.ThreadPoolExecutor(max_workers=max(parallel, 1) * 4)
        loop.set_default_executor(executor)
    # A failed program leaves futures unobserved on purpose; asyncio's complaints are noise.
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)

    def run() -> None:
        runpy.run_path(args.program, run_name="__main__")

    exit_code = 1
    try:
        loop.run_until_complete(pulumi.runtime.run_in_stack(run))
        exit_code = 0
    except pulumi.RunError as exc:
        # Errors the SDK raises for engine-side failures; the engine also reports them.
        pulumi.log.error(str(exc))
    except Exception:  # noqa: BLE001 - any program error must reach the user
        pulumi.log.error(
            "Program failed with an unhandled exception:\n" + _user_traceback(args.program)
        )
        exit_code = EXIT_ERROR_ALREADY_SHOWN
    finally:
        if executor is not None:
            executor.shutdown(wait=True)
        loop.close()
        sys.stdout.flush()
        sys.stderr.flush()
    sys.exit(exit_code)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--run-program":
        _run_program(sys.argv[2:])
    _serve(sys.argv[1:])
