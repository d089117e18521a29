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

__all__ = ["CaseResult", "CaseSpec", "Category", "Check", "StageReport", "Verdict"]


class Category(StrEnum):
    """What a case protects against (the issue's four kinds)."""

    COMPATIBILITY = "compatibility"
    FUNCTIONALITY = "functionality"
    REGRESSION = "regression"
    PERFORMANCE = "performance"


class Verdict(StrEnum):
    """A case's outcome. ``skip`` is not a failure; ``error`` (could not measure) is."""

    PASS = "pass"
    FAIL = "fail"
    SKIP = "skip"
    ERROR = "error"


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
        }


@dataclass
class StageReport:
    """The whole staging run, filled in as it goes (a run that dies half-way still reports)."""

    run_id: str
    started_at: datetime
    staging: dict[str, Any]
    installed: str | None = None
    target: str | None = None
    cases: list[CaseResult] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    drill: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    sql: list[str] = field(default_factory=list)
    duration: float = 0.0

    @property
    def critical_failures(self) -> list[CaseResult]:
        return [c for c in self.cases if c.critical and c.failed]

    @property
    def verdict(self) -> Verdict:
        return Verdict.FAIL if self.critical_failures else Verdict.PASS

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.FINDINGS if self.critical_failures else ExitCode.OK

    @property
    def coverage(self) -> float:
        """Share of critical cases that were executed and passed (1.0 when there are none)."""
        critical = [c for c in self.cases if c.critical]
        if not critical:
            return 1.0
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
            "counts": self.counts(),
            "failed_critical": [c.id for c in self.critical_failures],
            "timings_seconds": {k: round(v, 3) for k, v in self.timings.items()},
            "rollback_drill": self.drill,
            "notes": self.notes,
            "sql": self.sql,
            "cases": [c.to_dict() for c in self.cases],
        }
