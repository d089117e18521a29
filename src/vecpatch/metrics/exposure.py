"""Current exposure and the fleet at a glance, from the latest scan of each database.

A database is **exposed** when its most recent scan that reached it shows an exposed,
unmuted ``VULNERABLE`` finding of its own (pgvector); its severity is the highest such
finding's. A **server** is exposed the same way by its server-level findings (PostgreSQL
advisories), counted once per server however many databases or aliases it has. Exposure
over time is, at each scan, the state of every database and server as its *latest* scan
up to then saw it, so a scan of part of the fleet never reads as a fix.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from vecpatch.findings import SEVERITY_ORDER, severity_rank
from vecpatch.history.records import FindingRecord
from vecpatch.metrics.data import ALL, HistoryData, Period, Scope
from vecpatch.metrics.objectives import Objectives
from vecpatch.metrics.scans import DbKey, is_exposure, latest_servers, latest_views, scan_views


def _worst(findings: list[FindingRecord]) -> str | None:
    exposed = [f.severity or "unknown" for f in findings if is_exposure(f)]
    # "unknown" ranks as high (never waved through) but a known "high" names it better
    return max(exposed, key=lambda s: (severity_rank(s), s != "unknown")) if exposed else None


@dataclass(frozen=True)
class FleetRow:
    """One database as its latest scan saw it (its own findings; its server's are on the
    :class:`ServerRow`)."""

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
    server: str = ""
    """The server's identity (the key aliases share)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "server": self.server,
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


def _version_key(version: str | None) -> tuple[int, ...]:
    digits = [int(p) for p in re.findall(r"\d+", version or "")[:4]]
    return tuple(digits)


def _next_action(findings: list[FindingRecord]) -> str:
    """The one action that fixes the most: the highest fix version among the most severe
    kinds (updating to 16.15 also fixes what 16.3 fixed), else the most severe finding's."""
    actionable = [f for f in findings if not f.muted and f.payload.get("next_action")]
    actionable = [f for f in actionable if f.kind != "NOT_INSTALLED"]
    if not actionable:
        return "nothing to do"
    top = max(
        actionable,
        key=lambda f: (_version_key(f.fix_version), severity_rank(f.severity or "info"), f.kind),
    )
    return str(top.payload["next_action"])


def fleet(data: HistoryData, scope: Scope = ALL) -> list[FleetRow]:
    """The fleet table: every database's latest reachable scan."""
    rows: list[FleetRow] = []
    for key, (view, row) in sorted(latest_views(scan_views(data, scope)).items()):
        findings = view.findings.get(key, [])
        vulnerable = [f for f in findings if f.kind == "VULNERABLE" and f.affected]
        rows.append(
            FleetRow(
                target=row.target,
                server=key[0],
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
class ServerRow:
    """One server as its latest scan saw it: server-level findings, once."""

    server: str
    targets: tuple[str, ...]
    """Every target name that reached this server in its latest scan (the aliases)."""
    environment: str | None
    scanned_at: datetime
    run_id: str
    pg_version: str | None
    databases: int
    advisories: tuple[str, ...]
    exposed: tuple[str, ...]
    severity: str | None
    next_action: str
    kinds: tuple[str, ...]
    """The kinds of its unmuted findings (PG_MINOR_BEHIND, PG_EOL, …)."""

    @property
    def target(self) -> str:
        return self.targets[0]

    def to_dict(self) -> dict[str, Any]:
        return {
            "server": self.server,
            "targets": list(self.targets),
            "environment": self.environment,
            "scanned_at": self.scanned_at.isoformat(),
            "run_id": self.run_id,
            "pg_version": self.pg_version,
            "databases": self.databases,
            "advisories": list(self.advisories),
            "exposed": list(self.exposed),
            "severity": self.severity,
            "next_action": self.next_action,
            "kinds": list(self.kinds),
        }


def servers(data: HistoryData, scope: Scope = ALL) -> list[ServerRow]:
    """Every server's latest reachable scan, with its server-level findings."""
    views = scan_views(data, scope)
    per_server = Counter(key[0] for key in latest_views(views))
    rows: list[ServerRow] = []
    for server, view in sorted(latest_servers(views).items()):
        findings = view.server_findings.get(server, [])
        row = view.servers[server]
        vulnerable = [f for f in findings if f.kind == "VULNERABLE" and f.affected]
        aliases = sorted(t for t, s in view.aliases.items() if s == server)
        rows.append(
            ServerRow(
                server=server,
                targets=tuple(aliases or [row.target]),
                environment=row.environment,
                scanned_at=view.at,
                run_id=view.run.id,
                pg_version=row.pg_version,
                databases=per_server.get(server, 0),
                advisories=tuple(sorted({f.advisory_id for f in vulnerable if f.advisory_id})),
                exposed=_by_severity(findings),
                severity=_worst(findings),
                next_action=_next_action(findings),
                kinds=tuple(sorted({f.kind for f in findings if not f.muted})),
            )
        )
    return rows


@dataclass(frozen=True)
class ExposurePoint:
    """The fleet at one scan: every database and server as its latest scan so far saw it."""

    at: datetime
    run_id: str
    databases: int
    exposed: int
    by_severity: dict[str, int]
    servers: int = 0
    exposed_servers: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "run_id": self.run_id,
            "databases": self.databases,
            "exposed": self.exposed,
            "by_severity": self.by_severity,
            "servers": self.servers,
            "exposed_servers": self.exposed_servers,
        }


def exposure_over_time(
    data: HistoryData, period: Period, scope: Scope = ALL
) -> list[ExposurePoint]:
    """One point per scan in the period, each carrying forward what earlier scans saw of the
    databases and servers this one did not reach (a dropped database leaves the count)."""
    dbs: dict[DbKey, str | None] = {}
    srvs: dict[str, str | None] = {}
    points: list[ExposurePoint] = []
    for view in scan_views(data, scope):
        for key in [k for k in dbs if view.dropped(k)]:
            del dbs[key]
        for key, row in view.rows.items():
            if row.reachable:
                dbs[key] = _worst(view.findings.get(key, []))
        for server in view.servers:
            if view.server_reached(server):
                srvs[server] = _worst(view.server_findings.get(server, []))
        if period.contains(view.at):
            counts = Counter(w for w in dbs.values() if w is not None)
            points.append(
                ExposurePoint(
                    view.at, view.run.id, len(dbs), sum(counts.values()), dict(counts),
                    servers=len(srvs),
                    exposed_servers=sum(1 for w in srvs.values() if w is not None),
                )
            )  # fmt: skip
    return points


@dataclass(frozen=True)
class ExposureMetric:
    rows: tuple[FleetRow, ...]
    period: Period
    allowed: int
    servers: tuple[ServerRow, ...] = ()

    @property
    def exposed_servers(self) -> list[ServerRow]:
        return [s for s in self.servers if s.severity is not None]

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
            "servers": {
                "value": len(self.exposed_servers),
                "total": len(self.servers),
                "exposed": [
                    {"server": s.server, "targets": list(s.targets), "severity": s.severity,
                     "advisories": list(s.exposed), "scanned_at": s.scanned_at.isoformat()}
                    for s in self.exposed_servers
                ],
            },
        }  # fmt: skip


def exposure(
    data: HistoryData, period: Period, objectives: Objectives, scope: Scope = ALL
) -> ExposureMetric:
    """Databases (and, apart, servers) exposed now (at the end of the history), by severity."""
    return ExposureMetric(
        tuple(fleet(data, scope)),
        period,
        objectives.max_exposed_databases,
        tuple(servers(data, scope)),
    )
