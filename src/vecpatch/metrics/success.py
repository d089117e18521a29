"""Production update success rate: attempts that succeeded / all attempts in the period.

An attempt is one database of one apply run that the apply started to change; it
succeeded when its update committed, no step failed, no incident names it and no
rollback restored it (see :mod:`vecpatch.metrics.applies`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vecpatch.metrics.applies import ApplyAttempt, apply_attempts
from vecpatch.metrics.data import ALL, HistoryData, Period, Scope
from vecpatch.metrics.objectives import Objectives


@dataclass(frozen=True)
class SuccessMetric:
    attempts: tuple[ApplyAttempt, ...]
    period: Period
    required: float

    @property
    def succeeded(self) -> int:
        return sum(1 for a in self.attempts if a.succeeded)

    @property
    def ratio(self) -> float | None:
        return self.succeeded / len(self.attempts) if self.attempts else None

    @property
    def met(self) -> bool | None:
        ratio = self.ratio
        return None if ratio is None else ratio >= self.required

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": self.ratio,
            "unit": "ratio",
            "succeeded": self.succeeded,
            "failed": len(self.attempts) - self.succeeded,
            "attempts": len(self.attempts),
            "period": self.period.to_dict(),
            "target": {"min_ratio": self.required},
            "met": self.met,
            "failures": [a.to_dict() for a in self.attempts if not a.succeeded],
        }


def production_update_success_rate(
    data: HistoryData, period: Period, objectives: Objectives, scope: Scope = ALL
) -> SuccessMetric:
    attempts = [a for a in apply_attempts(data, scope) if period.contains(a.started_at)]
    return SuccessMetric(tuple(attempts), period, objectives.success_ratio)
