"""Scan history as observations: which databases each scan saw, and what it found there.

Shared by the vulnerability window (findings over time), current exposure (the latest
scan of each database) and the fleet table. Rows are grouped by **server identity**, not
target name, so aliases of one server merge. Server-level findings (``database`` is None,
e.g. PostgreSQL advisories) stay with their server: they are counted once per server,
never once per database.

A scan of a reachable server also records which databases exist on it (the target-level
row: ``database`` None, ``reachable`` True, ``facts["server_databases"]``), so a database
a scan did not select is told apart from one that was **dropped**. History written before
that has no such list: nothing is ever dropped there.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from vecpatch.history.records import FindingRecord, RunRecord, ScanRecord
from vecpatch.metrics.data import ALL, HistoryData, Scope

DbKey = tuple[str, str]
"""(server, database): the server is the scan row's identity (``ScanRecord.server``), so
the aliases of one server (two DSNs, two target names) are one key."""


@dataclass
class ScanView:
    """One scan run: the servers and databases it reached, the findings of each (server-level
    findings stay on their server, never spread to its databases), and the databases present
    on each server it reached (for the targets whose scan recorded them).

    When several targets of one run reach the same server, the first by name speaks for it
    and the others' rows are left out: a server and its databases count once."""

    run: RunRecord
    rows: dict[DbKey, ScanRecord] = field(default_factory=dict)
    findings: dict[DbKey, list[FindingRecord]] = field(default_factory=dict)
    server_databases: dict[str, frozenset[str]] = field(default_factory=dict)
    """server -> every database on it at this scan (absent: unknown)."""
    servers: dict[str, ScanRecord] = field(default_factory=dict)
    """server -> its target-level row (reachable or not), from the target speaking for it."""
    server_findings: dict[str, list[FindingRecord]] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    """target name -> server, for every target of this run."""

    @property
    def at(self) -> datetime:
        return self.run.started_at

    def server_of(self, target: str) -> str:
        return self.aliases.get(target, target)

    def server_reached(self, server: str) -> bool:
        """The scan reached the server (its own row says so, or one of its databases did)."""
        row = self.servers.get(server)
        if row is not None:
            return row.reachable
        return any(k[0] == server and r.reachable for k, r in self.rows.items())

    def dropped(self, key: DbKey) -> bool:
        """The database no longer exists: this scan listed its server's databases without it
        and did not reach it (a pooler alias, or a database created after the list was read,
        can be reached without being listed)."""
        if key in self.rows:
            return False
        present = self.server_databases.get(key[0])
        return present is not None and key[1] not in present


def _aliases(rows: list[ScanRecord]) -> tuple[dict[str, str], dict[str, str]]:
    """target -> server for one run, and server -> the target that speaks for it."""
    servers: dict[str, str] = {}
    for row in rows:
        if row.server_id or row.target not in servers:
            servers[row.target] = row.server
    speaker: dict[str, str] = {}
    for target, server in sorted(servers.items()):
        speaker.setdefault(server, target)
    return servers, speaker


def scan_views(data: HistoryData, scope: Scope = ALL) -> list[ScanView]:
    """Every scan run in *scope*, oldest first, keyed by server identity."""
    environments = data.target_environments()
    rows_by_run: dict[str, list[ScanRecord]] = defaultdict(list)
    for row in data.scan_results:
        if scope.includes(row.target, environments):
            rows_by_run[row.run_id].append(row)
    findings_by_run: dict[str, list[FindingRecord]] = defaultdict(list)
    for finding in data.findings:
        findings_by_run[finding.run_id].append(finding)
    views: list[ScanView] = []
    for run in data.runs_of("scan"):
        view = _view(run, rows_by_run.get(run.id, []), findings_by_run.get(run.id, []))
        if view.rows or view.server_databases or view.servers:
            views.append(view)
    return views


def _view(run: RunRecord, rows: list[ScanRecord], findings: list[FindingRecord]) -> ScanView:
    aliases, speaker = _aliases(rows)
    view = ScanView(run, aliases=aliases)
    for row in rows:
        server = aliases[row.target]
        if speaker[server] != row.target:
            continue
        if row.database is None:
            view.servers[server] = row
            if (present := _server_databases(row)) is not None:
                view.server_databases[server] = present
            continue
        view.rows[(server, row.database)] = row
        view.findings[(server, row.database)] = []
    for finding in findings:
        server = view.server_of(finding.target)
        if speaker.get(server, finding.target) != finding.target:
            continue
        if finding.database is None:
            view.server_findings.setdefault(server, []).append(finding)
        elif (key := (server, finding.database)) in view.rows:
            view.findings[key].append(finding)
    return view


def _server_databases(row: ScanRecord) -> frozenset[str] | None:
    """The databases on a reachable server, from its target-level row (None: unknown)."""
    if not row.reachable:
        return None
    names = row.facts.get("server_databases") if row.facts else None
    if not isinstance(names, list | tuple) or not names:
        return None
    return frozenset(str(n) for n in names)


def is_exposure(finding: FindingRecord) -> bool:
    """A known advisory that applies here: VULNERABLE, exposed, not muted."""
    return finding.kind == "VULNERABLE" and finding.exposed and not finding.muted


def latest_servers(views: list[ScanView]) -> dict[str, ScanView]:
    """For each server, the most recent scan that reached it."""
    return {
        server: view for view in views for server in view.servers if view.server_reached(server)
    }


def latest_views(views: list[ScanView]) -> dict[DbKey, tuple[ScanView, ScanRecord]]:
    """For each database, the most recent scan that reached it, unless a later scan saw
    that it had been dropped."""
    latest: dict[DbKey, tuple[ScanView, ScanRecord]] = {}
    for view in views:
        for key, row in view.rows.items():
            if row.reachable:
                latest[key] = (view, row)
        if view.server_databases:
            for key in [k for k in latest if view.dropped(k)]:
                del latest[key]
    return latest
