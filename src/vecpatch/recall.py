"""Recall of a vector index judged the same way by staging and by apply's checked update.

A recall figure means something only next to the index's own level on the same queries:
an approximate index may normally find 60 % of the true neighbours, and three queries
say nothing at all. So both callers draw a random, repeatable sample of query vectors
from the table (:data:`DEFAULT_QUERIES` by default), measure recall@k on each before the
update, measure the *same* queries again after it, and compare the two as pairs: a
drop counts only when its confidence interval lies wholly below zero *and* its size is
at least the minimum effect that matters. There is no fixed floor; the floor is the
index's own baseline less that effect.

This module has no apply or staging imports: both depend on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import psycopg
from psycopg import sql

DEFAULT_QUERIES = 50
"""Query vectors per index: enough for a ±0.03 interval on the mean paired change."""
MIN_EFFECT = 0.02
"""The smallest mean drop in recall@k that fails a check (half a neighbour in 25 at k=10)."""
CONFIDENCE = 0.95
SEED = 7
SAMPLE_SEED = 0.4242


@dataclass(frozen=True)
class RecallSample:
    """Recall@k of one index on each of a fixed set of query vectors (text form)."""

    queries: tuple[str, ...]
    recalls: tuple[float, ...]
    k: int

    @property
    def mean(self) -> float:
        return float(np.mean(self.recalls)) if self.recalls else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"recall": round(self.mean, 4), "queries": len(self.recalls), "k": self.k}


@dataclass(frozen=True)
class Paired:
    """The mean paired change (after − before), its interval, and the verdict it supports."""

    before: float
    after: float
    point: float
    low: float
    high: float
    queries: int
    min_effect: float
    confidence: float

    @property
    def regressed(self) -> bool:
        """A drop that is both real (interval below zero) and large enough to matter."""
        return self.high < 0.0 and -self.point >= self.min_effect

    def describe(self, k: int) -> str:
        pct = round(self.confidence * 100)
        return (
            f"recall@{k} {self.before:.3f} -> {self.after:.3f} over the same {self.queries} "
            f"queries (paired change {self.point:+.3f}, {pct}% CI [{self.low:+.3f}, "
            f"{self.high:+.3f}]; fails at a drop of {self.min_effect:g} or more that the "
            f"interval confirms)"
        )

    def to_dict(self) -> dict[str, float]:
        return {
            "before": round(self.before, 6),
            "after": round(self.after, 6),
            "point": round(self.point, 6),
            "ci_low": round(self.low, 6),
            "ci_high": round(self.high, 6),
            "queries": self.queries,
            "min_effect": self.min_effect,
            "confidence": self.confidence,
        }


def mean_interval(
    diffs: Sequence[float], confidence: float = CONFIDENCE, rounds: int = 2000
) -> tuple[float, float, float]:
    """Mean of ``diffs`` and its bootstrap interval (seeded: the same data, the same answer)."""
    d = np.asarray(diffs, dtype=np.float64)
    if d.size == 0:
        return 0.0, 0.0, 0.0
    rng = np.random.default_rng(SEED)
    means = rng.choice(d, (rounds, d.size)).mean(axis=1)
    tail = (1.0 - confidence) / 2.0 * 100.0
    low, high = np.percentile(means, [tail, 100.0 - tail])
    return float(d.mean()), float(low), float(high)


def paired(
    before: Sequence[float],
    after: Sequence[float],
    min_effect: float = MIN_EFFECT,
    confidence: float = CONFIDENCE,
) -> Paired:
    """Compare recall on the same queries before and after (``len(before) == len(after)``)."""
    if len(before) != len(after):
        raise ValueError(f"paired samples differ in size: {len(before)} vs {len(after)}")
    diffs = [a - b for a, b in zip(after, before, strict=True)]
    point, low, high = mean_interval(diffs, confidence)
    return Paired(
        before=float(np.mean(before)) if before else 0.0,
        after=float(np.mean(after)) if after else 0.0,
        point=point, low=low, high=high, queries=len(diffs),
        min_effect=min_effect, confidence=confidence,
    )  # fmt: skip


def tie_recall(approx: Sequence[float], exact: Sequence[float], k: int) -> float:
    """Share of the true top-k found; a result tied with the k-th distance counts as found."""
    top = sorted(exact)[:k]
    if not top:
        return 1.0
    bound = top[-1] + 1e-4 * max(1.0, abs(top[-1]))
    return min(len(top), sum(1 for d in approx[: len(top)] if d <= bound)) / len(top)


def sample_vectors(
    conn: psycopg.Connection[Any], schema: str, table: str, column: str, n: int
) -> list[str]:
    """``n`` query vectors drawn at random, repeatably, from the column's own values.

    ``setseed`` makes ``random()`` repeatable within the statement that follows, so two
    runs on the same data draw the same queries; a different sample needs a different
    seed, not a different code path.
    """
    conn.execute(sql.SQL("SELECT setseed({})").format(sql.Literal(SAMPLE_SEED)))
    query = sql.SQL(
        "SELECT {c}::text FROM {t} WHERE {c} IS NOT NULL ORDER BY random() LIMIT {n}"
    ).format(c=sql.Identifier(column), t=sql.Identifier(schema, table), n=sql.Literal(n))
    return [str(r[0]) for r in conn.execute(query).fetchall()]
