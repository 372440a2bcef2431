"""Benchmark the Dokploy providers, driven through the SDK's real dynamic-provider server, against
bare `DokployClient` calls doing the same work (issue 7).

    .venv/bin/python benchmarks/run.py [--n 200] [--latency 0.02] [--concurrency 4] [--out benchmarks/results]

One run:

1. starts the in-process Dokploy emulator (127.0.0.1 only) with `--latency` seconds per request;
2. starts the SDK's dynamic-provider gRPC server (`python -u -m pulumi.dynamic`, the process the
   engine starts; 4 server threads) through the provider test harness, and configures it with the
   stack config `dokploy:url` / `dokploy:apiKey`;
3. drives N Projects and 2N Environments through create, read (refresh), update and delete, phase
   by phase, with `--concurrency` client threads calling the server at once (Pulumi's default
   parallelism is unbounded, so the provider process's 4 gRPC threads are the real limit). Each
   resource makes the calls the engine makes: create = Check + Create; refresh = Read; update =
   Check + Diff + Update; destroy = Delete. The request structs the engine would hold (checked
   inputs, stored outputs) are passed through untouched, as the engine does; new program inputs
   are encoded before the timer starts, since the engine's own encoding is not provider work;
4. does the same work with bare `DokployClient` calls, the fewest requests the API allows, with
   the same number of threads and one shared client (one connection pool), like the provider.

The workload. Every project has `description` and `env` set. Every project gets TWO NON-DEFAULT
environments ("staging" and "preview"), each with `description` and `env` set. (Not the adopted
default "production" environment: its minimum depends on what the caller already knows. A script
that kept `project.create`'s answer updates it with 1 request where the resource, which only knows
project_id and name, must look it up first, and its "delete" restores defaults where a script would
do nothing; so the comparison would measure a difference of meaning, not overhead.) The update
phase changes description and env of every resource.

The minimum requests per operation (`calls_workload.OPS`), which the bare client must also hit exactly:

| operation | minimum | why |
|---|---|---|
| Project create | 1 `project.create` | it takes env and returns the row and its default environment |
| Environment create (with env) | `environment.create` + `environment.update` = 2 | `environment.create` silently ignores env |
| Project read | 1 `project.one` | |
| Environment read | 1 `environment.one` | |
| Project update | 1 `project.update` | description and env in one call |
| Environment update | 1 `environment.update` | |
| Environment delete | `environment.one` + `environment.remove` = 2 | v0.26 removes an environment with its services (v0.30 refuses), so whoever deletes an environment it did not check must look for services first |
| Project delete (no force_destroy) | `project.one` + `project.remove` = 2 | `project.remove` silently cascades through services and orphans their containers, so whoever deletes a project it did not check must look for services first; with `force_destroy` it is 1 |

Reported per operation: API requests per operation (from the emulator's request record, per
procedure) against the minimum; wall time per operation and in total (median over `--repeat`
runs after an unmeasured warm-up; the two modes alternate which goes first); the provider/bare
ratio; per-call latency, the mean latency of each gRPC call the engine makes, and CPU per
operation (calling threads, and the provider process from /proc), which unlike wall time is not
inflated by other load on the machine; the size of the `__provider` blob and of the stored inputs
and outputs (protobuf bytes of the structs the server returns, and of their JSON) per resource;
the import cost of `dokploy_pulumi` on top of `pulumi` (fresh interpreters, see
`import_cost.measure_import`). It writes `benchmark.json` (every figure, the machine's load average, and a
`targets` section: met/missed and by how much) and `benchmark.md` into `--out` (git-ignored) and
prints the markdown. The exit status is 0 whether or not the targets are met.

This file is the command line only; the work is done by `calls_workload` (what is done, and the
minimum requests), `calls_modes` (the two ways of doing it), `calls_runs` (the measured runs),
`calls_report` (the report, from the measurements only), `import_cost`, `sampler` and `stats`.

`tests/benchmarks/test_benchmark_small.py` runs this code path with N=3 and no latency and asserts
the request counts, the blob size, and that the report's figures are the ones computed from its
measurements, never timings.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Optional

HERE = Path(__file__).resolve().parent
if sys.path and Path(sys.path[0] or ".").resolve() == HERE:
    # Run as a script: import the benchmarks package from the repository root, never its modules as
    # top-level ones (benchmarks/stats.py is not a `stats` module for everyone).
    sys.path[0] = str(HERE.parent)

from benchmarks import ROOT  # noqa: E402
from benchmarks.calls_report import render_markdown  # noqa: E402
from benchmarks.calls_runs import run_benchmark  # noqa: E402


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=200, help="projects (environments: 2N)")
    parser.add_argument("--latency", type=float, default=0.02, help="emulator delay per request, seconds")
    parser.add_argument("--concurrency", type=int, default=4, help="client threads (the provider server has 4)")
    parser.add_argument("--repeat", type=int, default=3, help="measured runs per mode; medians are reported")
    parser.add_argument("--warmup", type=int, default=8, help="projects in the unmeasured warm-up cycle")
    parser.add_argument("--import-reps", type=int, default=11, help="fresh interpreters per import timing (0: skip)")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results"), help="directory for the results")
    args = parser.parse_args(argv)

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    report = run_benchmark(args.n, args.latency, args.concurrency, args.repeat, args.warmup, args.import_reps, log)
    report["command"] = " ".join([os.path.relpath(sys.executable, os.getcwd()), *sys.argv])
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "benchmark.json").write_text(json.dumps(report, indent=2) + "\n")
    markdown = render_markdown(report)
    (out / "benchmark.md").write_text(markdown)
    print(markdown)
    print(f"run time {report['run_time_s']:.1f}s; wrote {out / 'benchmark.json'} and {out / 'benchmark.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
