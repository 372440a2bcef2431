"""Every /proc reading of the benchmarks: a process's CPU seconds and peak RSS, and a watcher that
follows a command's whole process tree, role by role (Linux only).

`benchmarks/run.py` reads the provider server's CPU with `process_cpu_seconds`; `benchmarks/engine.py`
watches each `pulumi` command with `TreeWatcher`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Optional

_CLK_TCK = os.sysconf("SC_CLK_TCK")
#: How often TreeWatcher polls: often enough to see the short-lived processes of a command (the
#: language host's probes live a few hundred ms).
POLL_SECONDS = 0.05


def _read(path: str) -> Optional[str]:
    try:
        with open(path, "rb") as f:
            return f.read().decode(errors="replace")
    except OSError:
        return None


def _stat_fields(pid: int) -> Optional[list[str]]:
    """/proc/PID/stat from field 3 on (state, ppid, ...), or None when the process is gone."""
    raw = _read(f"/proc/{pid}/stat")
    if raw is None:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after the last ")".
    return raw[raw.rfind(")") + 2 :].split()


def process_cpu_seconds(pid: int) -> Optional[float]:
    """User + system CPU seconds of a live process, or None when it is gone (or not on Linux)."""
    fields = _stat_fields(pid)
    if fields is None:
        return None
    return (int(fields[11]) + int(fields[12])) / _CLK_TCK  # utime, stime


def peak_rss_mb(pid: int) -> Optional[float]:
    """The process's peak resident set (VmHWM) in MiB, or None when it is gone."""
    raw = _read(f"/proc/{pid}/status")
    if raw is None:
        return None
    for line in raw.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    return None


def _cmdline(pid: int) -> str:
    return (_read(f"/proc/{pid}/cmdline") or "").replace("\0", " ")


def classify(cmdline: str, parent_role: Optional[str]) -> str:
    """Which part of a Pulumi run a process is, from its command line."""
    if "pulumi.dynamic" in cmdline:
        return "provider"
    if " -m pip" in cmdline:
        return "pip"  # the language host asks pip which packages (plugins) the program uses
    if "--run-program" in cmdline or "pulumi-language-python-exec" in cmdline:
        return "program"
    if "pulumi-language-python" in cmdline or "pulumi_language_python" in cmdline:
        return "language_host"
    if parent_role == "language_host" and "python" in cmdline:
        # Upstream's host also runs `python -c ...` probes (version, virtualenv) before the program.
        return "host_probe" if " -c " in cmdline else "program"
    return "other"


@dataclass
class Seen:
    """One process of the tree: its role and the most it was seen using."""

    role: str
    cpu: float = 0.0
    peak_rss_mb: float = 0.0


class TreeWatcher:
    """Polls /proc for the descendants of one process: CPU and peak RSS per role.

    The root is the "cli" role. A process is sampled until it ends, so its CPU is the last value
    seen (up to POLL_SECONDS short of its total). `on_process(pid, role)` is called at every sample
    of every live process (the profiler starts py-spy on the roles it wants, once each).
    """

    def __init__(self, root_pid: int, on_process: Optional[Callable[[int, str], None]] = None) -> None:
        self.root_pid = root_pid
        self.seen: dict[int, Seen] = {root_pid: Seen("cli")}
        self._on_process = on_process
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tree-watcher", daemon=True)

    def start(self) -> TreeWatcher:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _scan_children(self) -> None:
        try:
            pids = [int(p) for p in os.listdir("/proc") if p.isdigit()]
        except OSError:
            return
        for pid in pids:
            if pid in self.seen:
                continue
            fields = _stat_fields(pid)
            if fields is None:
                continue
            ppid = int(fields[1])
            if ppid in self.seen:
                self.seen[pid] = Seen(classify(_cmdline(pid), self.seen[ppid].role))

    def _sample(self) -> None:
        for pid, seen in self.seen.items():
            cpu = process_cpu_seconds(pid)
            if cpu is None:
                continue  # gone: keep its last sample
            if seen.role in ("other", "cli") and pid != self.root_pid:
                # A shim (sh) that exec'd python since we first saw it.
                seen.role = classify(_cmdline(pid), None)
            if self._on_process is not None:
                self._on_process(pid, seen.role)
            seen.cpu = max(seen.cpu, cpu)
            rss = peak_rss_mb(pid)
            if rss is not None:
                seen.peak_rss_mb = max(seen.peak_rss_mb, rss)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._scan_children()
            self._sample()
            self._stop.wait(POLL_SECONDS)

    def by_role(self) -> dict[str, dict[str, float]]:
        """Per role: CPU seconds (summed over its processes), peak RSS MiB (the largest), processes."""
        out: dict[str, dict[str, float]] = {}
        for seen in self.seen.values():
            row = out.setdefault(seen.role, {"cpu_s": 0.0, "peak_rss_mb": 0.0, "processes": 0})
            row["cpu_s"] += seen.cpu
            row["peak_rss_mb"] = max(row["peak_rss_mb"], seen.peak_rss_mb)
            row["processes"] += 1
        return {role: {k: round(v, 3) for k, v in row.items()} for role, row in out.items()}
