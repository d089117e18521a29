"""Current exposure and the fleet at a glance, from the latest scan of each database.

A database is **exposed** when its most recent scan that reached it shows an exposed,
unmuted ``VULNERABLE`` finding; its severity is the highest such finding's. Exposure
over time counts the exposed databases of each scan run, for the dashboard's chart.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from vecpatch.findings import SEVERITY_ORDER, severity_rank
from vecpatch.history.records import FindingRecord
from vecpatch.metrics.data import ALL, HistoryData, Period, Scope
from vecpatch.metrics.objectives import Objectives
from vecpatch.metrics.scans import ScanView, is_exposure, latest_views, scan_views


def _worst(findings: list[FindingRecord]) -> str | None:
    exposed = [f.severity or "unknown" for f in findings if is_exposure(f)]
    # "unknown" ranks as high (never waved through) but a known "high" names it better
    return max(exposed, key=lambda s: (severity_rank(s), s != "unknown")) if exposed else None


@dataclass(frozen=True)
class FleetRow:
    """One database as its latest scan saw it."""

    target: str
    database: str
    environment: str | None
    scanned_at: datetime
    run_id: str
    pg_version: str | None
    installed: str | None
    on_disk: str | None
    advisories: tuple[str, ...]
    exposed: tuple[str, ...]
    severity: str | None
    next_action: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "database": self.database,
            "environment": self.environment,
            "scanned_at": self.scanned_at.isoformat(),
            "run_id": self.run_id,
            "pg_version": self.pg_version,
            "installed": self.installed,
            "on_disk": self.on_disk,
            "advisories": list(self.advisories),
            "exposed": list(self.exposed),
            "severity": self.severity,
            "next_action": self.next_action,
        }


def _by_severity(findings: list[FindingRecord]) -> tuple[str, ...]:
    """Exposed advisory ids, most severe first."""
    ranked = {
        f.advisory_id: severity_rank(f.severity or "unknown")
        for f in findings
        if is_exposure(f) and f.advisory_id
    }
    return tuple(sorted(ranked, key=lambda a: (-ranked[a], a)))


def _next_action(findings: list[FindingRecord]) -> str:
    actionable = [f for f in findings if not f.muted and f.payload.get("next_action")]
    actionable = [f for f in actionable if f.kind != "NOT_INSTALLED"]
    if not actionable:
        return "nothing to do"
    top = max(actionable, key=lambda f: (severity_rank(f.severity or "info"), f.kind))
    return str(top.payload["next_action"])


def fleet(data: HistoryData, scope: Scope = ALL) -> list[FleetRow]:
    """The fleet table: every database's latest reachable scan."""
    rows: list[FleetRow] = []
    for key, (view, row) in sorted(latest_views(scan_views(data, scope)).items()):
        findings = view.findings.get(key, [])
        vulnerable = [f for f in findings if f.kind == "VULNERABLE" and f.affected]
        rows.append(
            FleetRow(
                target=key[0],
                database=key[1],
                environment=row.environment,
                scanned_at=view.at,
                run_id=view.run.id,
                pg_version=row.pg_version,
                installed=row.pgvector_installed,
                on_disk=row.pgvector_default,
                advisories=tuple(sorted({f.advisory_id for f in vulnerable if f.advisory_id})),
                exposed=_by_severity(findings),
                severity=_worst(findings),
                next_action=_next_action(findings),
            )
        )
    return rows


@dataclass(frozen=True)
class ExposurePoint:
    """Exposed databases in one scan run."""

    at: datetime
    run_id: str
    databases: int
    exposed: int
    by_severity: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "run_id": self.run_id,
            "databases": self.databases,
            "exposed": self.exposed,
            "by_severity": self.by_severity,
        }


def _point(view: ScanView) -> ExposurePoint:
    worst = [_worst(view.findings.get(k, [])) for k, r in view.rows.items() if r.reachable]
    counts = Counter(w for w in worst if w is not None)
    return ExposurePoint(view.at, view.run.id, len(worst), sum(counts.values()), dict(counts))


def exposure_over_time(
    data: HistoryData, period: Period, scope: Scope = ALL
) -> list[ExposurePoint]:
    return [_point(v) for v in scan_views(data, scope) if period.contains(v.at)]


@dataclass(frozen=True)
class ExposureMetric:
    rows: tuple[FleetRow, ...]
    period: Period
    allowed: int

    @property
    def exposed(self) -> list[FleetRow]:
        return [r for r in self.rows if r.severity is not None]

    @property
    def met(self) -> bool:
        return len(self.exposed) <= self.allowed

    def by_severity(self) -> dict[str, int]:
        counts = Counter(r.severity for r in self.exposed if r.severity)
        order = [*reversed(SEVERITY_ORDER), "unknown"]
        return {s: counts[s] for s in order if counts[s]}

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": len(self.exposed),
            "unit": "databases",
            "databases": len(self.rows),
            "by_severity": self.by_severity(),
            "period": self.period.to_dict(),
            "target": {"max": self.allowed},
            "met": self.met,
            "exposed": [
                {"target": r.target, "database": r.database, "severity": r.severity,
                 "advisories": list(r.exposed), "scanned_at": r.scanned_at.isoformat()}
                for r in self.exposed
            ],
        }  # fmt: skip


def exposure(
    data: HistoryData, period: Period, objectives: Objectives, scope: Scope = ALL
) -> ExposureMetric:
    """Databases exposed now (at the end of the history), by severity."""
    return ExposureMetric(tuple(fleet(data, scope)), period, objectives.max_exposed_databases)
