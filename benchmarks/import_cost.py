"""What importing dokploy_pulumi costs a program on top of `import pulumi`, in fresh interpreters.

The import measured is the one a program makes, `PROGRAM_IMPORT`: the package's public names are
lazy (PEP 562), so a bare `import dokploy_pulumi` loads almost nothing and would measure nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from typing import Any

from benchmarks import ROOT, stats

PROGRAM_IMPORT = "from dokploy_pulumi import Environment, EnvironmentDuplicate, Project"


def measure_import(reps: int, python: str = sys.executable) -> dict[str, Any]:
    """Import cost of dokploy_pulumi on top of pulumi, in fresh interpreters (medians of `reps`)."""
    clean_env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "DOKPLOY_"))}
    probe = (
        "import time; t0, c0 = time.perf_counter(), time.process_time(); import pulumi; "
        "t1, c1 = time.perf_counter(), time.process_time(); {extra}"
        "t2, c2 = time.perf_counter(), time.process_time(); print(t1 - t0, t2 - t1, c1 - c0, c2 - c1)"
    )
    alone: list[float] = []
    together: list[float] = []
    increment: list[float] = []
    cpu_alone: list[float] = []
    cpu_together: list[float] = []
    for _ in range(reps):
        for extra, sink in (("", "alone"), (PROGRAM_IMPORT + "; ", "together")):
            out = subprocess.run(
                [python, "-c", probe.format(extra=extra)],
                capture_output=True,
                text=True,
                check=True,
                env=clean_env,
                cwd=str(ROOT),
            ).stdout.split()
            a, b, ca, cb = (float(x) for x in out)
            if sink == "alone":
                alone.append(a)
                cpu_alone.append(ca)
            else:
                together.append(a + b)
                increment.append(b)
                cpu_together.append(ca + cb)
    # Medians in milliseconds, unrounded until the report (differences of rounded values drift).
    ms = {
        name: stats.median(stats.scaled(values, 1000), 6)
        for name, values in {
            "alone": alone,
            "together": together,
            "increment": increment,
            "cpu_alone": cpu_alone,
            "cpu_together": cpu_together,
        }.items()
    }
    # Which packages the extra import pulls in, by self time (-X importtime, one run).
    trace = subprocess.run(
        [python, "-X", "importtime", "-c", f"import pulumi; {PROGRAM_IMPORT}"],
        capture_output=True,
        text=True,
        check=True,
        env=clean_env,
        cwd=str(ROOT),
    ).stderr
    after_pulumi, by_package = False, Counter[str]()
    for line in trace.splitlines():
        parts = [p.strip() for p in line.removeprefix("import time:").split("|")]
        if len(parts) != 3 or not parts[0].isdigit():
            continue
        module = parts[2]
        if after_pulumi:
            by_package[module.split(".")[0]] += int(parts[0])
        if module == "pulumi":
            after_pulumi = True
    return {
        "statement": PROGRAM_IMPORT,
        "method": "fresh interpreters, alternating: `import pulumi` alone, and `import pulumi` then "
        "the statement, each timed in-process with perf_counter. added_ms (the target) is "
        "the median time of the statement right after `import pulumi`; "
        "added_ms_difference_of_medians compares the two kinds of process (noisier: it adds the "
        "variance of both)",
        "repetitions": reps,
        "pulumi_ms_median": round(ms["alone"], 1),
        "pulumi_plus_dokploy_pulumi_ms_median": round(ms["together"], 1),
        "added_ms": round(ms["increment"], 1),
        "added_ms_difference_of_medians": round(ms["together"] - ms["alone"], 1),
        # CPU time is what the code costs; wall time also counts waiting for a busy machine's CPUs.
        "added_cpu_ms": round(ms["cpu_together"] - ms["cpu_alone"], 1),
        "added_self_ms_by_package": {k: round(v / 1000, 1) for k, v in by_package.most_common(8)},
    }
