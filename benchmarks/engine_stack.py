"""One stack of the engine benchmark's program, driven by the real Pulumi CLI, each command measured.

A `BenchStack` has its own folder: a copy of `engine_program/`, a file backend, a private
PULUMI_HOME and a log per command. `run(..., watch=True)` measures a command: wall time, CPU
seconds of the whole reaped process tree (rusage), and per role from /proc (`sampler.TreeWatcher`),
with py-spy profiles when the stack has a `profile_dir`.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from benchmarks import ROOT
from benchmarks.emulator_process import EmulatorProcess
from benchmarks.engine_workload import LATENCY_ENV, WORKERS_ENV
from benchmarks.profiler import PySpy
from benchmarks.sampler import TreeWatcher

PROGRAM_DIR = Path(__file__).resolve().parent / "engine_program"
INSTALL_SCRIPT = ROOT / "scripts" / "install-pulumi.sh"
COMMAND_TIMEOUT = 1800.0


def install_pulumi() -> Path:
    """scripts/install-pulumi.sh (fast once built): the folder holding `pulumi` and its plugins."""
    proc = subprocess.run(["bash", str(INSTALL_SCRIPT)], capture_output=True, text=True, check=False)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"scripts/install-pulumi.sh failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return Path(lines[-1])


def cli_version(bin_dir: Path) -> str:
    return subprocess.run(
        [str(bin_dir / "pulumi"), "version"], capture_output=True, text=True, check=False
    ).stdout.strip()


@dataclass
class CommandRun:
    argv: list[str]
    returncode: int
    wall_s: float
    tree_cpu_s: float
    roles: dict[str, dict[str, float]]
    output_tail: str
    profiles: dict[str, list[str]] = field(default_factory=dict)


class BenchStack:
    """A stack of the benchmark program in its own folder: file backend, private PULUMI_HOME."""

    def __init__(
        self,
        work_dir: Path,
        bin_dir: Path,
        emulator: EmulatorProcess,
        provider: str,
        *,
        workers: Optional[int] = None,
        stack: str = "bench",
        extra_env: Optional[dict[str, str]] = None,
        package_from: Optional[Path] = None,
    ) -> None:
        self.provider = provider
        self.stack = stack
        self.program_dir = work_dir / "program"
        shutil.copytree(PROGRAM_DIR, self.program_dir, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
        for sub in ("state", "home", "logs"):
            (work_dir / sub).mkdir(parents=True, exist_ok=True)
        self.logs = work_dir / "logs"
        # The repository root: the null program imports benchmarks.engine_null from it.
        python_path = [str(self.program_dir), str(ROOT)]
        if package_from:
            # A snapshot of dokploy_pulumi (e.g. `git archive HEAD dokploy_pulumi`): others may be
            # editing the working tree while a long run goes on. PYTHONPATH wins over the editable install.
            python_path.insert(0, str(package_from))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "DOKPLOY_")) and k != "PYTHONPATH"}
        if workers:
            # Both providers lift the SDK's 4 provider threads to this in `configure`.
            env[WORKERS_ENV] = str(workers)
        env.update(
            {
                "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
                "PULUMI_BACKEND_URL": f"file://{work_dir / 'state'}",
                "PULUMI_CONFIG_PASSPHRASE": "engine-bench",
                "PULUMI_HOME": str(work_dir / "home"),
                "PULUMI_SKIP_UPDATE_CHECK": "1",
                "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
                "PULUMI_PYTHON_CMD": sys.executable,
                "PYTHONPATH": os.pathsep.join(python_path),
                "PYTHONUNBUFFERED": "1",
                "DOKPLOY_URL": emulator.url,
                "DOKPLOY_API_KEY": emulator.api_key,
                LATENCY_ENV: str(emulator.latency),
                "ENGINE_BENCH_PROVIDER": provider,
            }
        )
        env.update(extra_env or {})
        self.env = env
        self._count = 0
        #: When set, py-spy records the provider and program processes of each watched command here.
        self.profile_dir: Optional[Path] = None
        self.run(["stack", "init", stack], scoped=False)

    def set_latency(self, seconds: float) -> None:
        self.env[LATENCY_ENV] = str(seconds)

    def configure(self, n: int, generation: int, duplicates: Optional[int] = None) -> None:
        args = [
            "config",
            "set-all",
            "--plaintext",
            f"bench:provider={self.provider}",
            "--plaintext",
            f"bench:n={n}",
            "--plaintext",
            f"bench:generation={generation}",
        ]
        if duplicates is not None:
            args += ["--plaintext", f"bench:duplicates={duplicates}"]
        self.run(args)

    def run(
        self, args: Sequence[str], *, scoped: bool = True, parallel: Optional[int] = None, watch: bool = False
    ) -> CommandRun:
        argv = ["pulumi", *args, "--non-interactive", "--color=never"]
        if scoped:
            argv += ["--stack", self.stack]
        if parallel:
            argv += ["--parallel", str(parallel)]
        self._count += 1
        log = self.logs / f"{self._count:03d}-{args[0]}.log"
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        with open(log, "w+b") as out:
            proc = subprocess.Popen(
                argv, cwd=self.program_dir, env=self.env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
            profiler = None
            if watch and self.profile_dir is not None:
                profiler = PySpy(self.profile_dir, f"{self.provider}-{self._count:03d}-{args[0]}-")
            watcher = TreeWatcher(proc.pid, profiler.on_process if profiler else None).start() if watch else None
            try:
                returncode = proc.wait(timeout=COMMAND_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()  # our own child, by PID
                returncode = proc.wait()
            wall = time.perf_counter() - started
            if watcher:
                watcher.stop()
            if profiler:
                profiler.stop()
            out.seek(0)
            text = out.read().decode(errors="replace")
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        tree_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        result = CommandRun(
            argv,
            returncode,
            wall,
            tree_cpu,
            watcher.by_role() if watcher else {},
            text[-6000:],
            dict(profiler.files) if profiler else {},
        )
        if returncode != 0:
            raise RuntimeError(f"$ {' '.join(argv)} exited {returncode}:\n{text[-6000:]}")
        return result
