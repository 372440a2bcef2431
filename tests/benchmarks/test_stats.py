"""The one statistics module both benchmarks compute their figures with."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import stats  # noqa: E402


def test_median_and_mean_round() -> None:
    assert stats.median([3.0, 1.0, 2.0]) == 2.0
    assert stats.median([1.0, 2.0, 3.0, 10.0]) == 2.5
    assert stats.median([1 / 3, 2 / 3], digits=2) == 0.5
    assert stats.mean([1.0, 2.0, 4.0], digits=4) == 2.3333


def test_nothing_measured_is_never_a_number() -> None:
    with pytest.raises(ValueError):
        stats.median([])
    with pytest.raises(ValueError):
        stats.mean([])
    with pytest.raises(ValueError):
        stats.percentile([], 0.5)
    with pytest.raises(ValueError):
        stats.mode([])
    assert stats.median_measured([None, None]) is None
    assert stats.median_measured([None, 4.0, 2.0]) == 3.0  # unmeasured values are left out


def test_percentile_interpolates_between_ranks() -> None:
    values = [10.0, 20.0, 30.0, 40.0, 50.0]
    assert stats.percentile(values, 0.0) == 10.0
    assert stats.percentile(values, 1.0) == 50.0
    assert stats.percentile(values, 0.5) == 30.0
    assert stats.percentile(values, 0.9) == 46.0
    assert stats.percentile([7.0], 0.95) == 7.0


def test_ratio_needs_both_values() -> None:
    assert stats.ratio(3.0, 2.0) == 1.5
    assert stats.ratio(1.0, 3.0, digits=4) == 0.3333
    assert stats.ratio(None, 2.0) is None
    assert stats.ratio(2.0, None) is None
    assert stats.ratio(2.0, 0.0) is None


def test_mode_and_scaled() -> None:
    assert stats.mode([5, 7, 7, 5, 7]) == 7
    assert stats.mode([2, 1]) == 2  # the first seen among equals
    assert stats.scaled([0.5, 0.25], 1000) == [500.0, 250.0]
