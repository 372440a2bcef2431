"""The engine benchmark's measured runs: stacks through the phases, for each N, latency, repeat and
provider (ours, then null; the order alternates between repeats), and the optional `--parallel`
sweep, and (with `import_reps`) the program's import cost in fresh interpreters. Each command
gives one record (what was measured, nothing computed); `engine_report` turns the records into
the report.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Optional

from benchmarks.emulator_process import EmulatorProcess
from benchmarks.engine_report import build_report
from benchmarks.engine_stack import BenchStack, cli_version, install_pulumi
from benchmarks.engine_workload import PHASE_ARGS, PHASES, PROVIDERS, SDK_WORKERS, WORKERS_ENV
from benchmarks.import_cost import measure_import
from benchmarks.profiler import analyze_profile, py_spy


def run_cycle(
    stack: BenchStack,
    emulator: EmulatorProcess,
    n: int,
    *,
    duplicates: Optional[int] = None,
    phases: Sequence[str] = PHASES,
    parallel: Optional[int] = None,
    cli_flags: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """One stack through the phases, from nothing back to nothing; a record per phase."""
    dups = n // 4 if duplicates is None else duplicates
    stack.set_latency(emulator.latency)
    stack.configure(n, generation=1, duplicates=duplicates)
    records = []
    for phase in phases:
        if phase == "update":
            stack.configure(n, generation=2, duplicates=duplicates)
        emulator.reset()
        emu_cpu = emulator.cpu_seconds()
        load = os.getloadavg()[0]
        result = stack.run([*PHASE_ARGS[phase], *cli_flags], parallel=parallel, watch=True)
        requests = emulator.requests()
        by_procedure = dict(sorted(requests["by_procedure"].items()))
        total = sum(by_procedure.values())
        records.append(
            {
                "provider": stack.provider,
                "n": n,
                "duplicates": dups,
                "latency": emulator.latency,
                "parallel": parallel,
                "workers": int(stack.env.get(WORKERS_ENV, SDK_WORKERS)),
                "phase": phase,
                "wall_s": round(result.wall_s, 3),
                "tree_cpu_s": round(result.tree_cpu_s, 3),
                "roles": result.roles,
                "emulator_cpu_s": round(emulator.cpu_seconds() - emu_cpu, 3),
                "requests": total,
                "requests_by_procedure": by_procedure,
                "statuses": requests["statuses"],
                "load_1m_before": round(load, 2),
                "profiles": {
                    role: analyze_profile([Path(p) for p in paths]) for role, paths in result.profiles.items()
                },
            }
        )
    return records


def run_benchmark(
    ns: Sequence[int] = (100, 400),
    latencies: Sequence[float] = (0.0, 0.05),
    repeat: int = 1,
    providers: Sequence[str] = PROVIDERS,
    parallel: Optional[int] = None,
    sweep_parallel: Sequence[int] = (),
    sweep_n: Optional[int] = None,
    duplicates: Optional[int] = None,
    work_root: Optional[Path] = None,
    progress: bool = True,
    profile_dir: Optional[Path] = None,
    phases: Sequence[str] = PHASES,
    partial_path: Optional[Path] = None,
    cli_env: Optional[dict[str, str]] = None,
    cli_flags: Sequence[str] = (),
    package_from: Optional[Path] = None,
    import_reps: int = 0,
) -> dict[str, Any]:
    if profile_dir is not None:
        py_spy()  # fail now, not in the first watched command
    bin_dir = install_pulumi()
    version = cli_version(bin_dir)
    owned_tmp = work_root is None
    root = Path(tempfile.mkdtemp(prefix="engine-bench-")) if work_root is None else work_root
    started = time.time()
    load_start = os.getloadavg()
    records: list[dict[str, Any]] = []
    sweep: list[dict[str, Any]] = []
    failures: list[dict[str, Any]] = []

    def say(msg: str) -> None:
        if progress:
            print(f"[{time.time() - started:7.1f}s load {os.getloadavg()[0]:.2f}] {msg}", file=sys.stderr, flush=True)

    imports: Optional[dict[str, Any]] = None
    if import_reps:
        say(f"program import, {import_reps} fresh interpreters of each kind")
        imports = measure_import(import_reps, package_from=package_from)
    try:
        with EmulatorProcess(latencies[0] if latencies else 0.0, package_from) as emulator:
            stacks = {
                p: BenchStack(root / p, bin_dir, emulator, p, extra_env=cli_env, package_from=package_from)
                for p in providers
            }
            if profile_dir is not None:
                profile_dir.mkdir(parents=True, exist_ok=True)
                for stack in stacks.values():
                    stack.profile_dir = profile_dir
            for latency in latencies:
                emulator.set_latency(latency)
                for n in ns:
                    for rep in range(repeat):
                        order = list(providers) if rep % 2 == 0 else list(reversed(providers))
                        for provider in order:
                            say(f"{provider} N={n} latency={latency} repeat {rep + 1}/{repeat}")
                            recs = run_cycle(
                                stacks[provider],
                                emulator,
                                n,
                                duplicates=duplicates,
                                parallel=parallel,
                                phases=phases,
                                cli_flags=cli_flags,
                            )
                            for r in recs:
                                r["repeat"] = rep
                                say(
                                    f"  {r['phase']:8s} {r['wall_s']:8.2f}s cpu {r['tree_cpu_s']:6.2f}s requests {r['requests']}"
                                )
                            records.extend(recs)
                            if partial_path is not None:
                                partial_path.write_text(json.dumps(records, indent=1) + "\n")
            if sweep_parallel:
                n = sweep_n or max(ns)
                emulator.set_latency(max(latencies))
                lifted = {
                    p: BenchStack(
                        root / f"{p}-lifted",
                        bin_dir,
                        emulator,
                        p,
                        workers=max(sweep_parallel),
                        extra_env=cli_env,
                        package_from=package_from,
                    )
                    for p in providers
                }
                for p_value in sweep_parallel:
                    for provider in providers:
                        for workers in sorted({SDK_WORKERS, p_value}):
                            if workers == SDK_WORKERS:
                                stack = stacks[provider]
                            else:
                                stack = lifted[provider]
                                stack.env[WORKERS_ENV] = str(workers)
                            say(f"sweep {provider} N={n} --parallel {p_value} workers {workers}")
                            try:
                                recs = run_cycle(
                                    stack,
                                    emulator,
                                    n,
                                    duplicates=duplicates,
                                    phases=("create", "destroy"),
                                    parallel=p_value,
                                )
                            except RuntimeError as exc:
                                # Keep going (a failed operation is a finding, not the end of the run):
                                # record it, then empty the stack with the SDK's 4 workers.
                                failures.append(
                                    {
                                        "provider": provider,
                                        "n": n,
                                        "parallel": p_value,
                                        "workers": workers,
                                        "error": str(exc)[-3000:],
                                    }
                                )
                                say(f"  FAILED: {str(exc).splitlines()[0]}")
                                stack.env.pop(WORKERS_ENV, None)
                                with contextlib.suppress(RuntimeError):
                                    stack.run(PHASE_ARGS["destroy"])
                                continue
                            for r in recs:
                                r["sweep"] = True
                            for r in recs:
                                say(f"  {r['phase']:8s} {r['wall_s']:8.2f}s requests {r['requests']}")
                            sweep.extend(recs)
                            if partial_path is not None:
                                partial_path.write_text(json.dumps(records + sweep, indent=1) + "\n")
    finally:
        if owned_tmp:
            shutil.rmtree(root, ignore_errors=True)

    meta = {
        "pulumi_cli": version,
        "load_average_1_5_15_at_start": [round(x, 2) for x in load_start],
        "load_average_1_5_15_at_end": [round(x, 2) for x in os.getloadavg()],
        "seconds": round(time.time() - started, 1),
        "settings": {
            "ns": list(ns),
            "latencies": list(latencies),
            "repeat": repeat,
            "parallel": parallel,
            "cli_default_parallel": 4 * (os.cpu_count() or 1),
            "sdk_workers": SDK_WORKERS,
            "sweep_parallel": list(sweep_parallel),
            "duplicates": duplicates,
            "cli_env": dict(cli_env or {}),
            "cli_flags": list(cli_flags),
            "package_from": str(package_from) if package_from else None,
            "import_reps": import_reps,
        },
    }
    if imports is not None:
        meta["import_cost"] = imports
    report = build_report(records, sweep, meta)
    report["sweep_failures"] = failures
    return report
