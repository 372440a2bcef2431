"""What importing dokploy_pulumi costs a program on top of `import pulumi`, in fresh interpreters.

The import measured is the one a program makes, `PROGRAM_IMPORT`: the package's public names are
lazy (PEP 562), so a bare `import dokploy_pulumi` loads almost nothing and would measure nothing.
Every process also says which of the provider's packages (`PROVIDER_ONLY`) the statement loaded:
none should be (the provider process and a running look-up load them, never the declaration).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any, Optional

from benchmarks import ROOT, stats

#: What a program declaring every resource type and using a look-up imports.
PROGRAM_IMPORT = (
    "from dokploy_pulumi import Environment, EnvironmentDuplicate, Project, ProjectDuplicate, ProjectGuard, "
    "get_environment_output, get_project_output"
)
#: Packages only the provider process (or a look-up as it runs) needs.
PROVIDER_ONLY = ("httpx", "tenacity", "pydantic", "cryptography")
#: Modules listed in the profile of what the statement still costs.
PROFILE_TOP = 12


def _env(package_from: Optional[Path]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "DOKPLOY_"))}
    if package_from is not None:
        env["PYTHONPATH"] = str(package_from)  # a snapshot wins over the editable install
    return env


def _self_times(trace: str) -> list[tuple[str, int]]:
    """(module, self microseconds) of every module `-X importtime` lists after `pulumi`'s own line."""
    after_pulumi, out = False, []
    for line in trace.splitlines():
        parts = [p.strip() for p in line.removeprefix("import time:").split("|")]
        if len(parts) != 3 or not parts[0].isdigit():
            continue
        if after_pulumi:
            out.append((parts[2], int(parts[0])))
        if parts[2] == "pulumi":
            after_pulumi = True
    return out


def measure_import(reps: int, python: str = sys.executable, package_from: Optional[Path] = None) -> dict[str, Any]:
    """Import cost of dokploy_pulumi on top of pulumi, in fresh interpreters (medians of `reps`)."""
    env = _env(package_from)
    probe = (
        "import json, sys, time; t0, c0 = time.perf_counter(), time.process_time(); import pulumi; "
        "t1, c1 = time.perf_counter(), time.process_time(); {extra}"
        "t2, c2 = time.perf_counter(), time.process_time(); "
        f"print(json.dumps([t1 - t0, t2 - t1, c1 - c0, c2 - c1, [m for m in {PROVIDER_ONLY!r} if m in sys.modules]]))"
    )
    alone: list[float] = []
    together: list[float] = []
    increment: list[float] = []
    cpu_pulumi: list[float] = []
    cpu_increment: list[float] = []
    cpu_ratios: list[float] = []
    loaded: set[str] = set()
    for _ in range(reps):
        for extra, sink in (("", "alone"), (PROGRAM_IMPORT + "; ", "together")):
            out = subprocess.run(
                [python, "-c", probe.format(extra=extra)],
                capture_output=True,
                text=True,
                check=True,
                env=env,
                cwd=str(ROOT),
            ).stdout
            a, b, ca, cb, heavy = json.loads(out.splitlines()[-1])
            if sink == "alone":
                alone.append(a)
                continue
            together.append(a + b)
            increment.append(b)
            # Both CPU figures from the same process: the ratio does not mix two processes' noise.
            cpu_pulumi.append(ca)
            cpu_increment.append(cb)
            cpu_ratios.append(cb / ca)
            loaded.update(heavy)
    # Medians in milliseconds, unrounded until the report (differences of rounded values drift).
    ms = {
        name: stats.median(stats.scaled(values, 1000), 6)
        for name, values in {
            "alone": alone,
            "together": together,
            "increment": increment,
            "cpu_pulumi": cpu_pulumi,
            "cpu_increment": cpu_increment,
        }.items()
    }
    # What the statement still costs, by package and by module (self time, -X importtime, one run).
    trace = subprocess.run(
        [python, "-X", "importtime", "-c", f"import pulumi; {PROGRAM_IMPORT}"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=str(ROOT),
    ).stderr
    by_package, by_module = Counter[str](), Counter[str]()
    for module, micros in _self_times(trace):
        by_package[module.split(".")[0]] += micros
        by_module[module] += micros
    return {
        "statement": PROGRAM_IMPORT,
        "method": "fresh interpreters, alternating: `import pulumi` alone, and `import pulumi` then "
        "the statement, each timed in-process with perf_counter and process_time. added_ms and "
        "added_cpu_ms are the medians of the statement's time right after `import pulumi`; "
        "cpu_ratio_to_pulumi is the median, over processes, of the statement's CPU over `import "
        "pulumi`'s in the same process; added_ms_difference_of_medians compares the two kinds of "
        "process (noisier: it adds the variance of both)",
        "repetitions": reps,
        "pulumi_ms_median": round(ms["alone"], 1),
        "pulumi_plus_dokploy_pulumi_ms_median": round(ms["together"], 1),
        "added_ms": round(ms["increment"], 1),
        "added_ms_difference_of_medians": round(ms["together"] - ms["alone"], 1),
        # CPU time is what the code costs; wall time also counts waiting for a busy machine's CPUs.
        "pulumi_cpu_ms": round(ms["cpu_pulumi"], 1),
        "added_cpu_ms": round(ms["cpu_increment"], 1),
        "cpu_ratio_to_pulumi": stats.median(cpu_ratios),
        "provider_packages_loaded": sorted(loaded),
        "added_self_ms_by_package": {k: round(v / 1000, 1) for k, v in by_package.most_common(8)},
        "added_self_ms_by_module": {k: round(v / 1000, 1) for k, v in by_module.most_common(PROFILE_TOP)},
    }
