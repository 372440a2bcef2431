"""Command line: ``python -m dokploy_pulumi.testing serve --port 3000 --api-key KEY [--version v0.26.7]``.

Runs the emulator in the foreground for demos, examples and out-of-process tests. It
prints exactly one line with the URL (flushed, so a parent process can wait for it) and
stops cleanly on SIGINT or SIGTERM. The key is never printed. With ``--state FILE`` it holds a
lock on FILE for as long as it runs: a second ``serve`` on the same file exits at once with code 2.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from . import DEFAULT_VERSION, TESTED_VERSIONS, DokployEmulator
from ._persistence import StateFileInUse, lock


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m dokploy_pulumi.testing", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run an emulated Dokploy on 127.0.0.1")
    serve.add_argument("--port", type=int, default=3000, help="port on 127.0.0.1 (0 = any free port)")
    serve.add_argument(
        "--api-key",
        default=os.environ.get("DOKPLOY_EMULATOR_API_KEY", "test-key"),
        help="accepted x-api-key (default: $DOKPLOY_EMULATOR_API_KEY or 'test-key')",
    )
    serve.add_argument("--state", metavar="FILE", default=None, help="JSON file that keeps state across restarts")
    serve.add_argument("--latency", type=float, default=0.0, metavar="SECONDS", help="delay added to every request")
    serve.add_argument(
        "--version",
        default=DEFAULT_VERSION,
        help=f"the Dokploy release to imitate: {' or '.join(TESTED_VERSIONS)} (default {DEFAULT_VERSION})",
    )
    serve.add_argument(
        "--legacy-create",
        action="store_true",
        default=None,
        help="project.create like Dokploy < 0.25 (no default environment)",
    )
    serve.add_argument(
        "--clock-offset", type=float, default=0.0, metavar="SECONDS", help="skew the server's clock (createdAt, Date)"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    stop = threading.Event()

    def _on_signal(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)

    held = None
    if args.state:
        try:
            # Before loading it: the holder may be about to rewrite it. Held until the process ends.
            held = lock(Path(args.state))
        except StateFileInUse as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    try:
        emulator = DokployEmulator(
            args.api_key,
            port=args.port,
            state_file=args.state,
            version=args.version,
            legacy_create=args.legacy_create,
            latency=args.latency,
            clock_offset=args.clock_offset,
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    emulator.start()
    try:
        print(f"Dokploy emulator ({emulator.version}) listening on {emulator.url}", flush=True)
        while not stop.wait(0.2):
            pass
    finally:
        emulator.stop()
        if held is not None:
            held.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
