"""Every statistic the benchmark reports compute: medians, means, percentiles, ratios, modes.

`median`, `mean` and `percentile` take values that were all measured (empty: ValueError, never a
made-up 0). `median_measured` leaves out values that were not measured (None: a role that did not
run has no CPU) and is None when none were, so a report cannot show a figure it did not measure.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Hashable, Iterable, Sequence
from typing import Optional, TypeVar

T = TypeVar("T", bound=Hashable)


def median(values: Iterable[float], digits: int = 3) -> float:
    """The median, rounded."""
    return round(statistics.median(list(values)), digits)


def mean(values: Iterable[float], digits: int = 3) -> float:
    """The arithmetic mean, rounded."""
    return round(statistics.fmean(list(values)), digits)


def median_measured(values: Iterable[Optional[float]], digits: int = 3) -> Optional[float]:
    """The median of the values that were measured, rounded; None when none were."""
    vals = [v for v in values if v is not None]
    return median(vals, digits) if vals else None


def percentile(values: Sequence[float], q: float, digits: int = 3) -> float:
    """The q-quantile (0 <= q <= 1), linear between the two nearest ranks, rounded."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("percentile of no values")
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return round(ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo), digits)


def ratio(a: Optional[float], b: Optional[float], digits: int = 3) -> Optional[float]:
    """a / b, rounded; None when either was not measured or b is 0."""
    return round(a / b, digits) if a is not None and b else None


def mode(values: Iterable[T]) -> T:
    """The most common value (the first seen among equals); ValueError when there are none."""
    common = Counter(values).most_common(1)
    if not common:
        raise ValueError("mode of no values")
    return common[0][0]


def scaled(values: Iterable[float], factor: float) -> list[float]:
    """Each value times factor (seconds to milliseconds: 1000)."""
    return [v * factor for v in values]
