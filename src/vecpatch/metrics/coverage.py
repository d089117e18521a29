"""Staging test coverage: critical cases executed and passed before each production apply.

For every production apply run in the period that touched a database, take the last
stage run that started before it (any environment: staging is by nature elsewhere).
Its coverage is ``critical cases with a passing verdict / critical cases in the plan``;
the plan's count is the stage run summary's ``critical_total`` when it records one
(cases that never ran then count as not passed), else the critical cases recorded. A
stage run whose plan has no critical case scores 1 (as ``vecpatch stage`` reports it);
an apply with no stage run before it, or whose stage run recorded no case at all (it
ended in ``error``), scores 0.

Passing verdicts are ``pass`` (``vecpatch stage``), ``passed`` and ``ok``; ``skip`` and
``error`` are executed-but-not-passed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from vecpatch.history.records import RunRecord
from vecpatch.metrics.applies import apply_attempts
from vecpatch.metrics.data import ALL, HistoryData, Period, Scope
from vecpatch.metrics.objectives import Objectives

PASSING = frozenset({"pass", "passed", "ok"})


@dataclass(frozen=True)
class ApplyCoverage:
    apply_run_id: str
    applied_at: datetime
    stage_run_id: str | None
    critical: int
    passed: int
    cases: int = 0
    """Cases of any kind the stage run recorded (none: it ran nothing, e.g. ``error``)."""

    @property
    def ratio(self) -> float:
        if self.stage_run_id is None or self.cases == 0:
            return 0.0
        return self.passed / self.critical if self.critical else 1.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "apply_run_id": self.apply_run_id,
            "apply_started_at": self.applied_at.isoformat(),
            "stage_run_id": self.stage_run_id,
            "critical": self.critical,
            "passed": self.passed,
            "ratio": self.ratio,
        }


def _coverage(data: HistoryData, apply_run: RunRecord, stages: list[RunRecord]) -> ApplyCoverage:
    before = [s for s in stages if s.started_at < apply_run.started_at]
    if not before:
        return ApplyCoverage(apply_run.id, apply_run.started_at, None, 0, 0)
    stage = before[-1]
    recorded = [c for c in data.stage_cases if c.run_id == stage.id]
    critical = [c for c in recorded if c.critical]
    passed = sum(1 for c in critical if c.verdict.lower() in PASSING)
    declared = (stage.summary or {}).get("critical_total")
    total = max(int(declared), len(critical)) if isinstance(declared, int) else len(critical)
    return ApplyCoverage(apply_run.id, apply_run.started_at, stage.id, total, passed, len(recorded))


@dataclass(frozen=True)
class CoverageMetric:
    applies: tuple[ApplyCoverage, ...]
    period: Period
    required: float

    @property
    def met(self) -> bool | None:
        return all(a.ratio >= self.required for a in self.applies) if self.applies else None

    def to_dict(self) -> dict[str, Any]:
        ratios = [a.ratio for a in self.applies]
        return {
            "value": {
                "mean": sum(ratios) / len(ratios) if ratios else None,
                "min": min(ratios) if ratios else None,
                "applies": len(ratios),
            },
            "unit": "ratio",
            "period": self.period.to_dict(),
            "target": {"min_ratio": self.required},
            "met": self.met,
            "applies": [a.to_dict() for a in self.applies],
        }


def staging_test_coverage(
    data: HistoryData, period: Period, objectives: Objectives, scope: Scope = ALL
) -> CoverageMetric:
    stages = data.runs_of("stage")
    touched = {a.run_id for a in apply_attempts(data, scope) if period.contains(a.started_at)}
    applies = [r for r in data.runs_of("apply") if r.id in touched]
    return CoverageMetric(
        tuple(_coverage(data, r, stages) for r in applies), period, objectives.coverage_ratio
    )
