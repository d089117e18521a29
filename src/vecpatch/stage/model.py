"""The shapes of a staging run: case specs from the plan, measured phases, verdicts.

Free of I/O so the runner, the renderers, the history recorder and the tests all read
the same values. A case *spec* is what the test plan says (data, from YAML); a case
*result* is what happened to it on the staging target. One spec can expand into many
results (one per user query, one per vector index).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from vecpatch.apply.model import Check
from vecpatch.exitcodes import ExitCode

__all__ = ["CaseResult", "CaseSpec", "Category", "Check", "Outcome", "StageReport", "Verdict"]


class Category(StrEnum):
    """What a case protects against (the issue's four kinds)."""

    COMPATIBILITY = "compatibility"
    FUNCTIONALITY = "functionality"
    REGRESSION = "regression"
    PERFORMANCE = "performance"


class Verdict(StrEnum):
    """A case's outcome.

    ``skip``: the case should have run and did not (a critical one leaves the stage
    ``incomplete``); ``n/a``: it does not apply here (a feature the version lacks, no
    index to measure); ``error``: it could not be measured, which fails like ``fail``.
    """

    PASS = "pass"
    FAIL = "fail"
    SKIP = "skip"
    ERROR = "error"
    NOT_APPLICABLE = "n/a"


class Outcome(StrEnum):
    """The whole stage's verdict; only ``pass`` is a promise that the update was tested."""

    PASS = "pass"
    FAIL = "fail"
    INCOMPLETE = "incomplete"
    NOTHING_TO_STAGE = "nothing-to-stage"


@dataclass(frozen=True)
class CaseSpec:
    """One case of the test plan, as written in YAML."""

    id: str
    category: Category
    check: str
    critical: bool = True
    description: str = ""
    expectations: Mapping[str, Any] = field(default_factory=dict)
    min_version: str | None = None
    sql: str | None = None
    enabled: bool = True

    def expect(self, key: str, default: float) -> float:
        """A numeric expectation (threshold) with its default."""
        value = self.expectations.get(key, default)
        return float(value)


@dataclass
class CaseResult:
    """One case's verdict, why, and what was measured before and after the update."""

    id: str
    category: Category
    critical: bool
    verdict: Verdict
    why: str
    check: str = ""
    before: Mapping[str, Any] | None = None
    after: Mapping[str, Any] | None = None
    checks: list[Check] = field(default_factory=list)
    duration: float = 0.0
    warning: str | None = None
    """Shown with the report's warnings: not failing, but worth a look (e.g. latency)."""

    @property
    def failed(self) -> bool:
        return self.verdict in (Verdict.FAIL, Verdict.ERROR)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "category": self.category.value,
            "critical": self.critical,
            "verdict": self.verdict.value,
            "why": self.why,
            "check": self.check,
            "before": dict(self.before) if self.before is not None else None,
            "after": dict(self.after) if self.after is not None else None,
            "checks": [c.to_dict() for c in self.checks],
            "duration_seconds": round(self.duration, 4),
            "warning": self.warning,
        }


@dataclass
class StageReport:
    """The whole staging run, filled in as it goes (a run that dies half-way still reports)."""

    run_id: str
    started_at: datetime
    staging: dict[str, Any]
    installed: str | None = None
    target: str | None = None
    pg_major: str | None = None
    cases: list[CaseResult] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    drill: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    sql: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    """Visible, but not failing: e.g. a large latency change below the failing threshold."""
    duration: float = 0.0
    nothing_to_stage: bool = False
    """The target is what is installed: nothing was rehearsed, so nothing passed."""

    @property
    def critical_failures(self) -> list[CaseResult]:
        """Failed critical cases, and a rollback drill that ran and failed (always blocking)."""
        return [c for c in self.cases if c.failed and (c.critical or c.check == "rollback-drill")]

    @property
    def not_run(self) -> list[CaseResult]:
        """Critical cases that should have run and did not."""
        return [c for c in self.cases if c.critical and c.verdict is Verdict.SKIP]

    @property
    def verdict(self) -> Outcome:
        if self.critical_failures:
            return Outcome.FAIL
        if self.nothing_to_stage:
            return Outcome.NOTHING_TO_STAGE
        if self.not_run or not self.cases:
            return Outcome.INCOMPLETE
        return Outcome.PASS

    @property
    def exit_code(self) -> ExitCode:
        ok = self.verdict in (Outcome.PASS, Outcome.NOTHING_TO_STAGE)
        return ExitCode.OK if ok else ExitCode.FINDINGS

    @property
    def coverage(self) -> float:
        """Share of applicable critical cases executed and passed (1.0 when there are none)."""
        critical = [c for c in self.cases if c.critical and c.verdict is not Verdict.NOT_APPLICABLE]
        if not critical:
            return 0.0 if self.nothing_to_stage else 1.0
        return sum(c.verdict is Verdict.PASS for c in critical) / len(critical)

    def case(self, case_id: str) -> CaseResult | None:
        return next((c for c in self.cases if c.id == case_id), None)

    def counts(self) -> dict[str, int]:
        out = {v.value: 0 for v in Verdict}
        for c in self.cases:
            out[c.verdict.value] += 1
        return out

    def to_dict(self) -> dict[str, Any]:
        """The JSON report (schema 1.0): every case with category, verdict and why."""
        return {
            "schema_version": "1.0",
            "run_id": self.run_id,
            "started_at": self.started_at.isoformat(),
            "duration_seconds": round(self.duration, 3),
            "verdict": self.verdict.value,
            "exit_code": int(self.exit_code),
            "coverage": round(self.coverage, 4),
            "staging": self.staging,
            "from": self.installed,
            "to": self.target,
            "pg_major": self.pg_major,
            "counts": self.counts(),
            "failed_critical": [c.id for c in self.critical_failures],
            "not_run_critical": [c.id for c in self.not_run],
            "warnings": self.warnings,
            "timings_seconds": {k: round(v, 3) for k, v in self.timings.items()},
            "rollback_drill": self.drill,
            "notes": self.notes,
            "sql": self.sql,
            "cases": [c.to_dict() for c in self.cases],
        }
