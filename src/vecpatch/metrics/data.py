"""The plain data every metric is computed from, and the period it covers.

Metrics never touch the store: :mod:`vecpatch.metrics.load` reads the history once
into a :class:`HistoryData`, and every metric is a pure function of that snapshot,
a :class:`Period` and the :class:`~vecpatch.metrics.objectives.Objectives`. That keeps
the formulas testable on hand-built data and identical for the CLI, the report, the
dashboard and ``/metrics``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from types import MappingProxyType
from typing import Any

from vecpatch.durations import parse_duration
from vecpatch.errors import UsageError
from vecpatch.history.records import (
    ApplyStepRecord,
    FindingRecord,
    IncidentRecord,
    RunRecord,
    ScanRecord,
    StageCaseRecord,
)


def _empty() -> Mapping[str, Any]:
    return MappingProxyType({})


@dataclass(frozen=True)
class HistoryData:
    """Everything the metrics read, loaded once (records are the store's own shapes)."""

    runs: tuple[RunRecord, ...] = ()
    scan_results: tuple[ScanRecord, ...] = ()
    findings: tuple[FindingRecord, ...] = ()
    stage_cases: tuple[StageCaseRecord, ...] = ()
    apply_steps: tuple[ApplyStepRecord, ...] = ()
    incidents: tuple[IncidentRecord, ...] = ()
    first_seen: Mapping[str, datetime] = field(default_factory=_empty)
    """``advisory:ID`` and ``release:product:version`` -> when vecpatch first knew it."""
    release_dates: Mapping[str, date] = field(default_factory=_empty)
    """``product:version`` -> release date, from the catalog."""

    def run(self, run_id: str) -> RunRecord | None:
        return next((r for r in self.runs if r.id == run_id), None)

    def runs_of(self, kind: str) -> list[RunRecord]:
        """Runs of one kind, oldest first."""
        return sorted((r for r in self.runs if r.kind == kind), key=lambda r: (r.started_at, r.id))

    def target_environments(self) -> dict[str, str | None]:
        """Each target's environment as its most recent scan recorded it.

        Apply runs do not record an environment, so this is how an apply is known to be
        a production one.
        """
        started = {r.id: r.started_at for r in self.runs}
        latest: dict[str, tuple[datetime, str | None]] = {}
        for row in self.scan_results:
            when = started.get(row.run_id, datetime.min.replace(tzinfo=UTC))
            if row.target not in latest or when >= latest[row.target][0]:
                latest[row.target] = (when, row.environment)
        return {target: env for target, (_, env) in latest.items()}


@dataclass(frozen=True)
class Period:
    """``[since, until]``; ``since=None`` means from the beginning of the history."""

    until: datetime
    since: datetime | None = None

    def contains(self, when: datetime | None) -> bool:
        if when is None:
            return False
        return (self.since is None or when >= self.since) and when <= self.until

    def to_dict(self) -> dict[str, str | None]:
        return {
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat(),
        }


def parse_since(text: str | None, now: datetime) -> datetime | None:
    """A duration before *now* (``30d``, ``12h``, ``2w``; see :mod:`vecpatch.durations`), an
    ISO date or date-time (UTC if naive), or ``all`` (None: from the beginning)."""
    if not text or text.strip() == "all":
        return None
    try:
        return now - timedelta(seconds=parse_duration(text, unit_required=True))
    except ValueError:
        pass  # not a duration: a date or time, then
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(
            f"cannot read --since {text!r}", hint="use 30d, 12h, 2w, 2026-01-31 or an ISO time"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Scope:
    """Which targets count: all, or those of one environment (``--env``)."""

    environment: str | None = None

    def includes(self, target: str, environments: Mapping[str, str | None]) -> bool:
        return self.environment is None or environments.get(target) == self.environment


ALL = Scope()
"""Every target, whatever its environment."""
