"""What the operator must act on, by advisory, server and database: the dashboard's views.

Pure: the fleet now (:func:`vecpatch.metrics.scans.latest_state`) in, plain rows out. The
server pages, the static report (HTML, Markdown, JSON) and the tests share these rows,
so a number can never differ between them.

The overview groups work the way Renovate's dependency dashboard groups updates — one
line per thing to do, naming how many databases or servers it touches — with pgvector
first (it is what vecpatch is for), then PostgreSQL. A server's PostgreSQL advisories
are one line per server, never one per database.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from vecpatch.findings import severity_rank
from vecpatch.history.records import FindingRecord
from vecpatch.metrics.data import HistoryData, Scope
from vecpatch.metrics.scans import LatestState, Seen, is_exposure, latest_state

PGVECTOR_FIRST = {"pgvector": 0, "postgresql": 1}
SEVERITY_WORDS = ("critical", "high", "medium", "low", "unknown", "info")


def _version_key(version: str | None) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", version or "")[:4])


def _severity(f: FindingRecord) -> str:
    if f.kind == "VULNERABLE" and f.payload.get("advisory_severity"):
        return str(f.payload["advisory_severity"])
    return f.severity or "unknown"


def _rank(severity: str | None) -> int:
    return severity_rank(severity) if severity in SEVERITY_WORDS else 0


def _product(f: FindingRecord) -> str:
    product = f.payload.get("product") if f.payload else None
    if product:
        return str(product)
    return "postgresql" if f.kind.startswith("PG_") else "pgvector"


@dataclass(frozen=True)
class Place:
    """Where something applies: one database, or a server (``database`` None)."""

    target: str
    database: str | None
    environment: str | None
    server: str

    @property
    def name(self) -> str:
        return f"{self.target}/{self.database}" if self.database else f"{self.target} (server)"

    def to_dict(self) -> dict[str, Any]:
        return {"target": self.target, "database": self.database,
                "environment": self.environment, "server": self.server}  # fmt: skip


def _place(seen: Seen) -> Place:
    return Place(seen.target, seen.database, seen.row.environment, seen.server)


@dataclass
class Action:
    """One line of "what needs doing now": the same change for several places."""

    key: str
    title: str
    product: str
    severity: str | None
    command: str
    places: list[Place] = field(default_factory=list)
    advisories: set[str] = field(default_factory=set)

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "title": self.title,
            "product": self.product,
            "severity": self.severity,
            "command": self.command,
            "advisories": sorted(self.advisories),
            "places": [p.to_dict() for p in self.places],
        }


_PENDING_KINDS = {"CATALOG_BEHIND_BINARY": "ALTER EXTENSION pending"}
_UPDATE_KINDS = {"VULNERABLE", "OUTDATED", "PG_MINOR_BEHIND"}


def _action_for(seen: Seen) -> tuple[str, str, str, FindingRecord] | None:
    """(group key, product, group title stem, finding naming the action) for one place."""
    live = [f for f in seen.findings if not f.muted and f.payload.get("next_action")]
    live = [f for f in live if f.kind != "NOT_INSTALLED" and (f.kind != "VULNERABLE" or f.exposed)]
    if not live:
        return None
    updates = [f for f in live if f.kind in _UPDATE_KINDS and f.fix_version]
    if updates:
        top = max(updates, key=lambda f: (_version_key(f.fix_version), _rank(_severity(f))))
        product = _product(top)
        name = "PostgreSQL" if product == "postgresql" else product
        return f"update:{product}:{top.fix_version}", product, f"{name} {top.fix_version}", top
    top = max(live, key=lambda f: (_rank(_severity(f)), f.kind))
    stem = _PENDING_KINDS.get(top.kind, top.kind.replace("_", " ").lower())
    return f"kind:{top.kind}", _product(top), stem, top


def _title(action: Action) -> str:
    n = len(action.places)
    what = "server" if all(p.database is None for p in action.places) else "database"
    count = f"{n} {what}{'s' if n != 1 else ''}"
    return (
        f"{count} → {action.title}"
        if action.key.startswith("update:")
        else f"{count}: {action.title}"
    )


def actions(state: LatestState) -> list[Action]:
    """The to-do list, pgvector first, then by severity, then by how many it touches."""
    groups: dict[str, Action] = {}
    for seen in [*state.databases, *state.servers]:
        found = _action_for(seen)
        if found is None:
            continue
        key, product, stem, finding = found
        action = groups.setdefault(
            key, Action(key, stem, product, None, str(finding.payload["next_action"]))
        )
        action.places.append(_place(seen))
        exposed = [f for f in seen.findings if is_exposure(f)]
        action.advisories.update(f.advisory_id for f in exposed if f.advisory_id)
        worst = max((_severity(f) for f in exposed), key=_rank, default=None)
        if worst is not None and _rank(worst) > _rank(action.severity):
            action.severity = worst
    ordered = sorted(
        groups.values(),
        key=lambda a: (PGVECTOR_FIRST.get(a.product, 2), -_rank(a.severity), -len(a.places)),
    )
    for action in ordered:
        action.title = _title(action)
    return ordered


@dataclass
class AdvisoryRow:
    """One advisory across the fleet (like one Dependabot alert)."""

    id: str
    title: str
    severity: str
    cvss: float | None
    product: str
    aliases: tuple[str, ...]
    fixed: str | None
    affected_versions: set[str] = field(default_factory=set)
    exposed: list[Place] = field(default_factory=list)
    mitigated: list[Place] = field(default_factory=list)
    accepted: list[tuple[Place, str]] = field(default_factory=list)
    links: tuple[str, ...] = ()

    def count(self, places: Iterable[Place], servers: bool) -> int:
        return sum(1 for p in places if (p.database is None) == servers)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "severity": self.severity,
            "cvss": self.cvss,
            "product": self.product,
            "aliases": list(self.aliases),
            "fixed": self.fixed,
            "affected_versions": sorted(self.affected_versions, key=_version_key),
            "servers": {"exposed": self.count(self.exposed, True),
                        "affected": self.count(self.exposed + self.mitigated, True)},
            "databases": {"exposed": self.count(self.exposed, False),
                          "affected": self.count(self.exposed + self.mitigated, False)},
            "exposed": [p.to_dict() for p in self.exposed],
            "mitigated": [p.to_dict() for p in self.mitigated],
            "accepted": [{**p.to_dict(), "reason": r} for p, r in self.accepted],
            "links": list(self.links),
            "exposed_count": len(self.exposed),
            "target": sorted({p.target for p in self._everywhere()}),
            "environment": sorted({p.environment for p in self._everywhere() if p.environment}),
        }  # fmt: skip

    def _everywhere(self) -> list[Place]:
        return self.exposed + self.mitigated + [p for p, _ in self.accepted]


def advisories(
    state: LatestState, links: dict[str, tuple[str, ...]] | None = None
) -> list[AdvisoryRow]:
    """One row per advisory that affects something now; pgvector first, then by severity
    and how many places it exposes."""
    rows: dict[str, AdvisoryRow] = {}
    for seen in [*state.databases, *state.servers]:
        for f in seen.findings:
            if f.kind != "VULNERABLE" or not f.affected or not f.advisory_id:
                continue
            row = rows.get(f.advisory_id)
            if row is None:
                row = rows[f.advisory_id] = AdvisoryRow(
                    id=f.advisory_id,
                    title=str(f.payload.get("title") or f.advisory_id),
                    severity=_severity(f),
                    cvss=f.payload.get("cvss_score"),
                    product=_product(f),
                    aliases=tuple(f.payload.get("aliases") or ()),
                    fixed=f.fix_version,
                    links=(links or {}).get(f.advisory_id, ()),
                )
            if f.installed_version:
                row.affected_versions.add(f.installed_version)
            place = _place(seen)
            if f.muted:
                row.accepted.append((place, str(f.payload.get("muted_reason") or "muted")))
            elif f.exposed:
                row.exposed.append(place)
            else:
                row.mitigated.append(place)
    return sorted(
        rows.values(),
        key=lambda r: (PGVECTOR_FIRST.get(r.product, 2), -_rank(r.severity), -len(r.exposed), r.id),
    )


def _exposed_ids(findings: list[FindingRecord]) -> list[str]:
    ranked = {
        f.advisory_id: _rank(_severity(f)) for f in findings if is_exposure(f) and f.advisory_id
    }
    return sorted(ranked, key=lambda a: (-ranked[a], a))


def _worst(findings: list[FindingRecord]) -> str | None:
    exposed = [_severity(f) for f in findings if is_exposure(f)]
    return max(exposed, key=lambda s: (_rank(s), s != "unknown"), default=None)


def _next(seen: Seen) -> str:
    found = _action_for(seen)
    return str(found[3].payload["next_action"]) if found else "nothing to do"


def server_rows(state: LatestState) -> list[dict[str, Any]]:
    """Each server once: its PostgreSQL version, aliases, databases and own findings."""
    per_server: dict[str, int] = defaultdict(int)
    for seen in state.databases:
        per_server[seen.server] += 1
    out = []
    for seen in state.servers:
        aliases = sorted(t for t, s in seen.view.aliases.items() if s == seen.server)
        kinds = sorted({f.kind for f in seen.findings if not f.muted and f.kind != "VULNERABLE"})
        out.append({
            "server": seen.server,
            "target": seen.target,
            "aliases": aliases,
            "environment": seen.row.environment,
            "pg_version": seen.row.pg_version,
            "databases": per_server.get(seen.server, 0),
            "exposed": _exposed_ids(seen.findings),
            "severity": _worst(seen.findings),
            "kinds": kinds,
            "next_action": _next(seen),
            "scanned_at": seen.view.at.isoformat(),
            "run_id": seen.view.run.id,
        })  # fmt: skip
    return out


def database_rows(state: LatestState) -> list[dict[str, Any]]:
    """Each database once: pgvector installed and on disk, its own findings."""
    out = []
    for seen in state.databases:
        kinds = sorted({f.kind for f in seen.findings if not f.muted and f.kind != "VULNERABLE"})
        out.append({
            "server": seen.server,
            "target": seen.target,
            "database": seen.database,
            "environment": seen.row.environment,
            "pg_version": seen.row.pg_version,
            "installed": seen.row.pgvector_installed,
            "on_disk": seen.row.pgvector_default,
            "objects": dict(seen.row.facts.get("summary") or {}),
            "exposed": _exposed_ids(seen.findings),
            "severity": _worst(seen.findings),
            "kinds": kinds,
            "next_action": _next(seen),
            "scanned_at": seen.view.at.isoformat(),
            "run_id": seen.view.run.id,
        })  # fmt: skip
    return out


def freshness(state: LatestState, data: HistoryData) -> list[dict[str, Any]]:
    """Every target ever scanned: when its latest scan ran, whether it reached the server,
    and why not; databases it could not read. Unreachable targets first."""
    failed: dict[str, list[str]] = defaultdict(list)
    for seen in state.databases:
        if seen.row.reason:
            failed[seen.target].append(f"{seen.database}: {seen.row.reason}")
    out = []
    for target, (view, row) in state.targets.items():
        out.append({
            "target": target,
            "environment": row.environment,
            "up": row.reachable,
            "reason": row.reason,
            "kind": (row.facts or {}).get("failure_kind"),
            "scanned_at": view.at.isoformat(),
            "run_id": view.run.id,
            "failed_databases": failed.get(target, []),
        })  # fmt: skip
    return sorted(out, key=lambda r: (r["up"], r["target"]))


@dataclass(frozen=True)
class Triage:
    """Every view's rows, computed once per history snapshot."""

    actions: list[Action]
    advisories: list[AdvisoryRow]
    servers: list[dict[str, Any]]
    databases: list[dict[str, Any]]
    targets: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "actions": [a.to_dict() for a in self.actions],
            "advisories": [a.to_dict() for a in self.advisories],
            "servers": self.servers,
            "databases": self.databases,
            "targets": self.targets,
        }


def triage(
    data: HistoryData, scope: Scope, links: dict[str, tuple[str, ...]] | None = None
) -> Triage:
    state = latest_state(data, scope)
    return Triage(
        actions(state), advisories(state, links), server_rows(state), database_rows(state),
        freshness(state, data),
    )  # fmt: skip


def newest(rows: Iterable[dict[str, Any]]) -> datetime | None:
    """The latest ``scanned_at`` among rows (for "last scan" lines)."""
    stamps = [datetime.fromisoformat(r["scanned_at"]) for r in rows if r.get("scanned_at")]
    return max(stamps, default=None)
