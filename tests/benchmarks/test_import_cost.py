"""The program-import measurement the engine benchmark reports (`benchmarks/import_cost.py`), run
for real once: its figures are the ones its processes measured, and the statement it measures
loads none of the provider's packages. Asserts no time, only how the figures relate."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.import_cost import PROFILE_TOP, PROGRAM_IMPORT, measure_import  # noqa: E402


def test_one_measurement() -> None:
    imp = measure_import(1)
    assert imp["statement"] == PROGRAM_IMPORT and imp["repetitions"] == 1
    assert imp["provider_packages_loaded"] == []
    # One process: the ratio is that process's added CPU over its `import pulumi` CPU.
    assert imp["pulumi_cpu_ms"] > 0
    assert abs(imp["cpu_ratio_to_pulumi"] - imp["added_cpu_ms"] / imp["pulumi_cpu_ms"]) < 0.002
    # The profile names our modules, never more than asked, heaviest first.
    profile = list(imp["added_self_ms_by_module"].values())
    assert 0 < len(profile) <= PROFILE_TOP and profile == sorted(profile, reverse=True)
    assert any(m.startswith("dokploy_pulumi") for m in imp["added_self_ms_by_module"])
