"""Small, documented statistics so every metric summarises the same way.

Percentiles use linear interpolation between closest ranks (NumPy's default,
``statistics.quantiles(method="inclusive")``): the median of 1, 2, 3, 10 is 2.5 and
its p90 is 7.9. One value is its own median and p90; no values give ``None``.
"""

from __future__ import annotations

from collections.abc import Sequence


def percentile(values: Sequence[float], q: float) -> float | None:
    """The *q*-th percentile (0..100) of *values*, or ``None`` for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summary(values: Sequence[float]) -> dict[str, float | int | None]:
    """count, median, p90 and max of *values* (seconds in, seconds out)."""
    return {
        "count": len(values),
        "median": percentile(values, 50),
        "p90": percentile(values, 90),
        "max": max(values) if values else None,
    }
