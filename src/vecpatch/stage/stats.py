"""Before-vs-after statistics: percentiles and bootstrap confidence intervals (NumPy).

A latency regression is only called when the change is large *and* the 95% interval
of the change excludes zero: one noisy run on a busy staging box must not block an
update, and a real slowdown must not hide in the noise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

SEED = 7


@dataclass(frozen=True)
class Interval:
    """A point estimate and its 95% bootstrap interval."""

    point: float
    low: float
    high: float

    def excludes_zero(self) -> bool:
        return self.low > 0.0 or self.high < 0.0

    def to_dict(self) -> dict[str, float]:
        return {"point": round(self.point, 6), "ci95_low": round(self.low, 6),
                "ci95_high": round(self.high, 6)}  # fmt: skip


def median(values: Sequence[float]) -> float:
    return float(np.median(np.asarray(values, dtype=np.float64))) if len(values) else 0.0


def load_factor(before: Sequence[float], after: Sequence[float]) -> float:
    """How much slower the machine itself was after than before (control timings; 1.0 = same).

    The control statement runs no pgvector code, so the update cannot change its time;
    only another job on the same cores can. Dividing the after-latencies by this factor
    keeps a busy moment from reading as a regression, and a real regression still shows.
    """
    b, a = median(before), median(after)
    return a / b if a > 0 and b > 0 else 1.0


def percentiles(values: Sequence[float]) -> dict[str, float]:
    arr = np.asarray(values, dtype=np.float64)
    if arr.size == 0:
        return {"p50": 0.0, "p95": 0.0, "p99": 0.0}
    p50, p95, p99 = np.percentile(arr, [50, 95, 99])
    return {"p50": float(p50), "p95": float(p95), "p99": float(p99)}


def p95_change(before: Sequence[float], after: Sequence[float], rounds: int = 2000) -> Interval:
    """Relative change of p95 latency (0.2 = 20% slower), resampling each phase."""
    a, b = np.asarray(before, dtype=np.float64), np.asarray(after, dtype=np.float64)
    base = float(np.percentile(a, 95))
    point = float(np.percentile(b, 95)) / base - 1.0 if base > 0 else 0.0
    rng = np.random.default_rng(SEED)
    ra = np.percentile(rng.choice(a, (rounds, a.size)), 95, axis=1)
    rb = np.percentile(rng.choice(b, (rounds, b.size)), 95, axis=1)
    rel = rb / np.maximum(ra, 1e-12) - 1.0
    low, high = np.percentile(rel, [2.5, 97.5])
    return Interval(point, float(low), float(high))


def mean_diff(before: Sequence[float], after: Sequence[float], rounds: int = 2000) -> Interval:
    """``mean(after - before)`` over paired samples (same queries), with its interval."""
    d = np.asarray(after, dtype=np.float64) - np.asarray(before, dtype=np.float64)
    if d.size == 0:
        return Interval(0.0, 0.0, 0.0)
    rng = np.random.default_rng(SEED)
    means = rng.choice(d, (rounds, d.size)).mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return Interval(float(d.mean()), float(low), float(high))
