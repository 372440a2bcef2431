"""py-spy profiles of the provider and program processes of a `pulumi` command, and what they say.

`PySpy` starts `py-spy record` on each process of the wanted roles as the sampler first sees it
(py-spy on PATH or $PY_SPY; PY_SPY_EXTRA=--gil keeps only samples holding the GIL, the better
measure of Python CPU, since py-spy counts threads blocked in gRPC's C calls as active).
`analyze_profile` turns the raw files into shares of samples by owner (ours, the SDK, gRPC, ...).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any, Optional

#: Samples per second asked of py-spy (reported with each analysis).
RATE_HZ = 200
PROFILED_ROLES = ("provider", "program")


def py_spy() -> str:
    """The py-spy to run ($PY_SPY or `py-spy` on PATH); RuntimeError before any run when there is none."""
    command = os.environ.get("PY_SPY", "py-spy")
    found = shutil.which(command)
    if found is None:
        raise RuntimeError(f"--profile needs py-spy: {command!r} is not on PATH (set PY_SPY to its path)")
    return found


class PySpy:
    """One py-spy per process of the profiled roles, writing raw profiles into `directory`."""

    def __init__(self, directory: Path, prefix: str) -> None:
        self._command = py_spy()
        self._directory = directory
        self._prefix = prefix
        self._procs: dict[int, subprocess.Popen[bytes]] = {}
        #: role -> the profile files written for it
        self.files: dict[str, list[str]] = {}

    def on_process(self, pid: int, role: str) -> None:
        """TreeWatcher's callback: profile this process if its role is wanted and it is new."""
        if role not in PROFILED_ROLES or pid in self._procs:
            return
        out = self._directory / f"{self._prefix}{role}-{pid}.txt"
        self.files.setdefault(role, []).append(str(out))
        self._procs[pid] = subprocess.Popen(
            [
                self._command,
                "record",
                "--pid",
                str(pid),
                "--nonblocking",
                "--rate",
                str(RATE_HZ),
                "--format",
                "raw",
                "--output",
                str(out),
                *os.environ.get("PY_SPY_EXTRA", "").split(),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def stop(self) -> None:
        """Wait for each py-spy to write its file (it ends when its target does)."""
        for proc in self._procs.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.terminate()  # our own child, by PID
                proc.wait()


#: Who owns a sample, decided by the first matching frame from the thread's root down.
_OWNERS = (
    ("dokploy_pulumi/", "ours: dokploy_pulumi (and the httpx/pydantic it calls)"),
    ("engine_null.py", "null provider code"),
    ("pulumi/runtime/rpc.py", "SDK: property (de)serialisation"),
    ("pulumi/runtime/_serialization.py", "SDK: provider blob (dill)"),
    ("dill/", "SDK: provider blob (dill)"),
    ("asyncio/", "SDK: new asyncio event loop per call"),
)


def _import_owner(frames: list[str]) -> Optional[str]:
    """For a sample taken while importing: "imports: <top-level package first imported>"."""
    if not any("_find_and_load" in f for f in frames):
        return None
    for frame in frames:
        if frame.startswith("<module> (") and "frozen" not in frame:
            path = frame[len("<module> (") :].split(":")[0]
            return "imports: " + path.split("/")[0].removesuffix(".py")
    return "imports: other"


def sample_owner(frames: list[str]) -> str:
    """The owner of one sample (frames root first)."""
    imported = _import_owner(frames)
    if imported:
        return imported
    for frame in frames:
        for needle, owner in _OWNERS:
            if needle in frame:
                return owner
    for frame in frames:
        if "pulumi/dynamic/__main__.py" in frame:
            return "SDK: provider server, other"
        if "/pulumi/" in frame:
            return "SDK: other pulumi code"
    if any("grpc/" in f for f in frames):
        return "gRPC server plumbing"
    if any("threading.py" in f or "concurrent/futures" in f for f in frames):
        return "thread pool"
    return "other"


def analyze_profile(paths: list[Path], top: int = 12) -> dict[str, Any]:
    """py-spy raw profiles (of one role): shares of samples by owner, and the top leaf functions."""
    owners: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    total = 0
    text = ""
    for path in paths:
        with contextlib.suppress(OSError):
            text += path.read_text(errors="replace") + "\n"
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        # py-spy puts the thread name first when asked to; frames ("func (file:line)") are root first.
        frames = [f for f in stack.split(";") if "(" in f]
        if not frames:
            continue
        total += n
        owners[sample_owner(frames)] += n
        leaves[frames[-1]] += n
    return {
        "samples": total,
        "rate_hz": RATE_HZ,
        "by_owner": {k: round(v / total, 3) for k, v in owners.most_common()} if total else {},
        "top_leaf_functions": [(k, round(v / total, 3)) for k, v in leaves.most_common(top)] if total else [],
        "files": [str(p) for p in paths],
    }
