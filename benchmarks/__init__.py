"""Benchmarks of dokploy_pulumi (README, "Benchmarks" and "Engine-level benchmark").

Two entry points, each a thin command line over modules with one job each:

- `python benchmarks/run.py`: the providers through the SDK's dynamic-provider server against bare
  `DokployClient` calls (workload `calls_workload`, the two ways of calling `calls_modes`, the
  measured runs `calls_runs`, the report `calls_report`, import cost `import_cost`);
- `python benchmarks/engine.py`: whole stacks through the real Pulumi CLI, ours against a null
  provider (`engine_null`; workload `engine_workload`, the CLI stack `engine_stack`, the measured
  runs `engine_runs`, the report `engine_report`).

Shared by both: `stats` (every median, mean, percentile and ratio), `sampler` (every /proc
reading: CPU seconds, peak RSS, the CLI's process tree by role), `profiler` (py-spy) and
`emulator_process` (the emulator in a child process). Results go to benchmarks/results/
(git-ignored); no result figure lives in the code.
"""

from pathlib import Path

#: The repository root (the benchmarks import dokploy_pulumi from here or from a snapshot).
ROOT = Path(__file__).resolve().parents[1]
