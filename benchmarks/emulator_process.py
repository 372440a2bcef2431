"""The Dokploy emulator in a child process, so that its CPU is not the benchmark's own.

    python -m benchmarks.emulator_process [--latency SECONDS]   (with DOKPLOY_EMULATOR_API_KEY)

The child serves on 127.0.0.1, prints `{"url": ...}`, then answers one command per stdin line:
`requests` prints `{"by_procedure": {...}, "statuses": {...}}` of the requests since the last
`reset`; `reset` forgets them; `latency SECONDS` changes the latency; EOF stops it.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Optional

from benchmarks import ROOT
from benchmarks.sampler import process_cpu_seconds

API_KEY_ENV = "DOKPLOY_EMULATOR_API_KEY"


def serve(latency: float, api_key: str) -> int:
    """The child's side: serve, print the URL as JSON, answer commands on stdin until EOF."""
    from dokploy_pulumi.testing import DokployEmulator

    with DokployEmulator(api_key=api_key, latency=latency) as emu:
        print(json.dumps({"url": emu.url}), flush=True)
        for line in sys.stdin:
            command, _, arg = line.strip().partition(" ")
            if command == "requests":
                log = emu.requests
                counts = Counter(r.procedure or r.path for r in log)
                statuses = Counter(str(r.status) for r in log)
                print(json.dumps({"by_procedure": dict(counts), "statuses": dict(statuses)}), flush=True)
            elif command == "reset":
                emu.reset_requests()
                print("{}", flush=True)
            elif command == "latency":
                emu.latency = float(arg)
                print("{}", flush=True)
            else:
                print(json.dumps({"error": f"unknown command {command!r}"}), flush=True)
    return 0


class EmulatorProcess:
    """The parent's side: the emulator in a child process, driven over its stdin/stdout."""

    def __init__(self, latency: float = 0.0, package_from: Optional[Path] = None) -> None:
        self.api_key = "bench-" + secrets.token_hex(8)
        python_path = os.pathsep.join([*([str(package_from)] if package_from else []), str(ROOT)])
        self._proc = subprocess.Popen(
            [sys.executable, "-u", "-m", "benchmarks.emulator_process", "--latency", str(latency)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=str(ROOT),
            env={**os.environ, API_KEY_ENV: self.api_key, "PYTHONPATH": python_path},
        )
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._stdin, self._stdout = self._proc.stdin, self._proc.stdout
        first = self._stdout.readline()
        if not first:
            raise RuntimeError("the emulator process did not start")
        self.url: str = json.loads(first)["url"]
        self.latency = latency

    @property
    def pid(self) -> int:
        return self._proc.pid

    def _ask(self, command: str) -> dict[str, Any]:
        self._stdin.write(command + "\n")
        self._stdin.flush()
        answer: dict[str, Any] = json.loads(self._stdout.readline())
        if "error" in answer:
            raise RuntimeError(answer["error"])
        return answer

    def requests(self) -> dict[str, Any]:
        return self._ask("requests")

    def reset(self) -> None:
        self._ask("reset")

    def set_latency(self, seconds: float) -> None:
        self._ask(f"latency {seconds}")
        self.latency = seconds

    def cpu_seconds(self) -> float:
        cpu = process_cpu_seconds(self.pid)
        if cpu is None:
            raise RuntimeError("the emulator process is gone")
        return cpu

    def close(self) -> None:
        try:
            self._stdin.close()
            self._proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self._proc.kill()  # our own child, by PID
            self._proc.wait()

    def __enter__(self) -> EmulatorProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.0)
    args = parser.parse_args(argv)
    return serve(args.latency, os.environ.get(API_KEY_ENV, "test-key"))


if __name__ == "__main__":
    sys.exit(main())
