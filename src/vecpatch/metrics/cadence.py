"""Update cadence: a pgvector release's date -> that version applied in production.

One event per database that a successful production apply moved to a version (per
target and version, one row per database of the target). The lag is the update
step's end minus the release date (from the catalog; else when vecpatch first saw the
release). An update is a **security** update when the last scan of that database
before the apply showed an unmuted ``VULNERABLE`` pgvector finding with a fix; it must
land within ``security_days``, any other within ``other_days``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Any

from vecpatch.metrics.applies import ApplyAttempt, apply_attempts
from vecpatch.metrics.data import ALL, HistoryData, Period, Scope
from vecpatch.metrics.objectives import Objectives
from vecpatch.metrics.scans import ScanView, scan_views
from vecpatch.metrics.stats import summary

DAY = 86_400.0


@dataclass(frozen=True)
class CadenceEvent:
    target: str
    database: str | None
    version: str
    released_at: datetime
    applied_at: datetime
    security: bool
    seconds: float
    limit_days: float

    @property
    def within(self) -> bool:
        return self.seconds <= self.limit_days * DAY

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "database": self.database,
            "version": self.version,
            "released_at": self.released_at.isoformat(),
            "applied_at": self.applied_at.isoformat(),
            "class": "security" if self.security else "other",
            "seconds": self.seconds,
            "days": round(self.seconds / DAY, 3),
            "target_days": self.limit_days,
            "met": self.within,
        }


def release_time(data: HistoryData, version: str) -> datetime | None:
    """Midnight UTC of the release date, else when vecpatch first saw the release."""
    released = data.release_dates.get(f"pgvector:{version}")
    if released is not None:
        return datetime.combine(released, time(), tzinfo=UTC)
    return data.first_seen.get(f"release:pgvector:{version}")


def _security(attempt: ApplyAttempt, views: list[ScanView]) -> bool:
    database = attempt.database or ""
    before = [
        v
        for v in views
        if v.at <= attempt.started_at and (v.server_of(attempt.target), database) in v.rows
    ]
    if not before:
        return False
    key = (before[-1].server_of(attempt.target), database)
    return any(
        f.kind == "VULNERABLE"
        and f.affected
        and not f.muted
        and f.fix_version
        and f.payload.get("product", "pgvector") == "pgvector"
        for f in before[-1].findings.get(key, [])
    )


@dataclass(frozen=True)
class CadenceMetric:
    events: tuple[CadenceEvent, ...]
    unknown_release: tuple[str, ...]
    period: Period
    objectives: Objectives

    @property
    def met(self) -> bool | None:
        return all(e.within for e in self.events) if self.events else None

    def to_dict(self) -> dict[str, Any]:
        sec = [e.seconds for e in self.events if e.security]
        other = [e.seconds for e in self.events if not e.security]
        return {
            "value": {
                "all": summary([e.seconds for e in self.events]),
                "security": summary(sec),
                "other": summary(other),
            },
            "unit": "seconds",
            "period": self.period.to_dict(),
            "target": {
                "security_days": self.objectives.security_days,
                "other_days": self.objectives.other_days,
            },
            "met": self.met,
            "missed": sum(1 for e in self.events if not e.within),
            "events": [e.to_dict() for e in self.events],
            "unknown_release_dates": list(self.unknown_release),
        }


def update_cadence(
    data: HistoryData, period: Period, objectives: Objectives, scope: Scope = ALL
) -> CadenceMetric:
    """Release -> production lag of every successful apply that ended in the period."""
    views = scan_views(data, scope)
    events: list[CadenceEvent] = []
    unknown: set[str] = set()
    for attempt in apply_attempts(data, scope):
        if not attempt.succeeded or not period.contains(attempt.applied_at):
            continue
        assert attempt.applied_at is not None
        version = attempt.to_version
        released = release_time(data, version) if version else None
        if version is None or released is None:
            unknown.add(version or "?")
            continue
        security = _security(attempt, views)
        limit = objectives.security_days if security else objectives.other_days
        events.append(
            CadenceEvent(
                target=attempt.target,
                database=attempt.database,
                version=version,
                released_at=released,
                applied_at=attempt.applied_at,
                security=security,
                seconds=max(0.0, (attempt.applied_at - released).total_seconds()),
                limit_days=limit,
            )
        )
    return CadenceMetric(tuple(events), tuple(sorted(unknown)), period, objectives)
