"""Engine-level benchmark: the real Pulumi CLI runs whole stacks of our resources and of a null provider (issue 14).

    .venv/bin/python benchmarks/engine.py [--n 100 400] [--latency 0 0.05] [--repeat 3]
        [--parallel P] [--sweep-parallel 4 8 16] [--out benchmarks/results] [--name engine]
        [--package-from SNAPSHOT_DIR] [--cli-env PULUMI_SKIP_CHECKPOINTS=true] [--profile DIR]
        [--import-reps 5]
    .venv/bin/python benchmarks/engine.py --summarize RUN.json [RUN2.json ...] --name engine

`--package-from` imports dokploy_pulumi from a snapshot (`git archive HEAD dokploy_pulumi | tar -x
-C DIR`), so a long run measures one version while the working tree changes. `--cli-env` adds to
the CLI's environment (PULUMI_SKIP_CHECKPOINTS=true turns off the file backend's checkpoint after
every step). `--profile DIR` records py-spy profiles of the provider and program processes (py-spy
on PATH or $PY_SPY; PY_SPY_EXTRA=--gil for GIL-holding samples only). `--summarize` rebuilds the
report from saved runs (or NAME.partial.json, written after every cycle). `--import-reps R`
(default 5, 0 to skip) first measures the program's import in 2 x R fresh interpreters
(`import_cost`): its CPU as a ratio of `import pulumi`'s, and a profile of what it still costs.

The CLI comes from `bash scripts/install-pulumi.sh` (built on first use). One run:

1. starts the Dokploy emulator in its own process (`benchmarks/emulator_process.py`, so its CPU is
   not the benchmark's), 127.0.0.1 only, with a fixed latency per request;
2. for each N, latency and repeat, and for each provider (ours, then null; the order alternates
   between repeats), runs five CLI commands on one stack of `benchmarks/engine_program/`:
   1 Project, N Environments with env, N/4 EnvironmentDuplicates with env:
     create   `pulumi up --yes --skip-preview`
     preview  `pulumi preview --expect-no-changes`
     refresh  `pulumi refresh --yes --skip-preview`
     update   `pulumi up --yes --skip-preview` after `bench:generation` 1 -> 2 (every resource changes)
     destroy  `pulumi destroy --yes --skip-preview`
   "null" is the same program on `benchmarks/engine_null.py`: a dynamic provider with the same
   inputs, outputs and secrets that makes no request and sleeps the latency once per request ours
   makes (`engine_workload.REQUESTS`). It measures what the engine, the SDK's provider server and the
   program cost alone; ours / null is what our provider adds;
3. per command: wall time; CPU seconds of the whole CLI process tree (rusage of the reaped tree),
   and per process role (provider, program, language host, CLI) from /proc, polled every 50 ms,
   which also gives each role's peak RSS (VmHWM); the emulator's CPU; the requests the emulator
   received, by procedure; the floor, requests x latency / 4 (the SDK's provider server runs 4
   worker threads); the machine's load average;
4. optionally (`--sweep-parallel`), `pulumi up` (create) and `destroy` of the largest N at the
   largest latency with `--parallel` 4/8/16, for ours and null, each with the SDK's 4 provider
   workers and with `DOKPLOY_PULUMI_PROVIDER_WORKERS` = the parallelism (`dokploy_pulumi._workers`,
   which our providers apply in `configure`; the null provider does the same in its own).

Wall times are medians over `--repeat`; CPU seconds are medians too and, unlike wall times, are
barely affected by other load on the machine. It writes `engine.json` (every run and the summary,
with `targets`: met/missed and by how much) and `engine.md` into `--out` (git-ignored), and prints
the markdown. The exit status is 0 whether or not the targets are met.

This file is the command line only; the work is done by `engine_runs` (the measured runs),
`engine_stack` (one stack through the CLI), `sampler` (/proc), `profiler` (py-spy), `stats` and
`engine_report` (the report, from the records only).

`tests/benchmarks/test_engine_small.py` runs this code path with N=4 and no latency through the
real CLI and asserts request counts per phase (and none at preview) and that the report's figures
are the ones computed from its records, never timings.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Optional

HERE = Path(__file__).resolve().parent
if sys.path and Path(sys.path[0] or ".").resolve() == HERE:
    # Run as a script: import the benchmarks package from the repository root, never its modules as
    # top-level ones (benchmarks/stats.py is not a `stats` module for everyone).
    sys.path[0] = str(HERE.parent)

from benchmarks import ROOT, emulator_process  # noqa: E402
from benchmarks.engine_report import build_report, merge_saved, to_markdown  # noqa: E402
from benchmarks.engine_runs import run_benchmark  # noqa: E402
from benchmarks.engine_workload import PHASES, PROVIDERS  # noqa: E402


def write_report(report: dict[str, Any], out: Path, name: str) -> None:
    """NAME.json and NAME.md into out, and the markdown on stdout."""
    out.mkdir(parents=True, exist_ok=True)
    markdown = to_markdown(report)
    (out / f"{name}.json").write_text(json.dumps(report, indent=1) + "\n")
    (out / f"{name}.md").write_text(markdown)
    print(markdown)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    sub = parser.add_subparsers(dest="command")
    emu = sub.add_parser("emulator", help="(internal) serve the emulator and answer commands on stdin")
    emu.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--n", type=int, nargs="+", default=[100, 400])
    parser.add_argument("--latency", type=float, nargs="+", default=[0.0, 0.05])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--providers", nargs="+", default=list(PROVIDERS), choices=PROVIDERS)
    parser.add_argument("--parallel", type=int, default=None, help="pulumi --parallel (default: the CLI's, 4 x CPUs)")
    parser.add_argument("--duplicates", type=int, default=None, help="EnvironmentDuplicates (default N/4)")
    parser.add_argument(
        "--sweep-parallel",
        type=int,
        nargs="*",
        default=[],
        help="also run create+destroy of the largest N at the largest latency with these --parallel values",
    )
    parser.add_argument(
        "--phases",
        nargs="+",
        default=list(PHASES),
        choices=PHASES,
        help="phases of the main runs (destroy should stay last)",
    )
    parser.add_argument("--sweep-n", type=int, default=None)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--name", default="engine", help="file names in --out (NAME.json, NAME.md)")
    parser.add_argument(
        "--summarize",
        type=Path,
        nargs="+",
        default=None,
        metavar="JSON",
        help="rebuild NAME.json/NAME.md from saved reports or NAME.partial.json files (no runs)",
    )
    parser.add_argument(
        "--package-from",
        type=Path,
        default=None,
        metavar="DIR",
        help="import dokploy_pulumi from DIR (a snapshot) instead of the working tree",
    )
    parser.add_argument(
        "--cli-flags",
        nargs="*",
        default=[],
        metavar="FLAG",
        help="extra flags for the measured commands, e.g. --cli-flags=--profiling=/tmp/p",
    )
    parser.add_argument(
        "--cli-env",
        nargs="*",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment for the CLI, e.g. PULUMI_SKIP_CHECKPOINTS=true",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="record py-spy profiles of the provider and program processes here (py-spy on PATH or $PY_SPY)",
    )
    parser.add_argument(
        "--import-reps",
        type=int,
        default=5,
        help="fresh interpreters per kind for the program's import cost (0: not measured)",
    )
    args = parser.parse_args(argv)
    if args.command == "emulator":  # kept for old callers: the emulator's own module serves it
        return emulator_process.main(["--latency", str(args.latency)])
    args.out.mkdir(parents=True, exist_ok=True)
    if args.summarize:
        records, sweep, meta = merge_saved([json.loads(path.read_text()) for path in args.summarize])
        write_report(build_report(records, sweep, meta), args.out, args.name)
        return 0
    report = run_benchmark(
        args.n,
        args.latency,
        args.repeat,
        args.providers,
        args.parallel,
        args.sweep_parallel,
        args.sweep_n,
        args.duplicates,
        profile_dir=args.profile,
        phases=args.phases,
        partial_path=args.out / f"{args.name}.partial.json",
        cli_env=dict(kv.split("=", 1) for kv in args.cli_env),
        cli_flags=args.cli_flags,
        package_from=args.package_from,
        import_reps=args.import_reps,
    )
    write_report(report, args.out, args.name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
