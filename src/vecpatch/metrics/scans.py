"""Scan history as observations: which databases each scan saw, and what it found there.

Shared by the vulnerability window (findings over time), current exposure (the latest
scan of each database) and the fleet table. Server-level findings (``database`` is
None, e.g. PostgreSQL advisories) apply to every database the scan saw on that server.

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
"""(target, database)"""


@dataclass
class ScanView:
    """One scan run: the databases it reached, the findings per database, and the databases
    present on each server it reached (for the targets whose scan recorded them)."""

    run: RunRecord
    rows: dict[DbKey, ScanRecord] = field(default_factory=dict)
    findings: dict[DbKey, list[FindingRecord]] = field(default_factory=dict)
    server_databases: dict[str, frozenset[str]] = field(default_factory=dict)
    """target -> every database on its server at this scan (absent: unknown)."""

    @property
    def at(self) -> datetime:
        return self.run.started_at

    def dropped(self, key: DbKey) -> bool:
        """The database no longer exists: this scan listed its server's databases without it
        and did not reach it (a pooler alias, or a database created after the list was read,
        can be reached without being listed)."""
        if key in self.rows:
            return False
        present = self.server_databases.get(key[0])
        return present is not None and key[1] not in present


def scan_views(data: HistoryData, scope: Scope = ALL) -> list[ScanView]:
    """Every scan run in *scope*, oldest first, with findings spread to their databases."""
    environments = data.target_environments()
    rows_by_run: dict[str, list[ScanRecord]] = defaultdict(list)
    servers_by_run: dict[str, dict[str, frozenset[str]]] = defaultdict(dict)
    for row in data.scan_results:
        if not scope.includes(row.target, environments):
            continue
        if row.database is not None:
            rows_by_run[row.run_id].append(row)
        elif (present := _server_databases(row)) is not None:
            servers_by_run[row.run_id][row.target] = present
    findings_by_run: dict[str, list[FindingRecord]] = defaultdict(list)
    for finding in data.findings:
        findings_by_run[finding.run_id].append(finding)
    views: list[ScanView] = []
    for run in data.runs_of("scan"):
        view = ScanView(run, server_databases=servers_by_run.get(run.id, {}))
        for row in rows_by_run.get(run.id, []):
            assert row.database is not None
            view.rows[(row.target, row.database)] = row
            view.findings[(row.target, row.database)] = []
        for finding in findings_by_run.get(run.id, []):
            for key in _keys_for(finding, view):
                view.findings[key].append(finding)
        if view.rows or view.server_databases:
            views.append(view)
    return views


def _server_databases(row: ScanRecord) -> frozenset[str] | None:
    """The databases on a reachable server, from its target-level row (None: unknown)."""
    if not row.reachable:
        return None
    names = row.facts.get("server_databases") if row.facts else None
    if not isinstance(names, list | tuple) or not names:
        return None
    return frozenset(str(n) for n in names)


def _keys_for(finding: FindingRecord, view: ScanView) -> list[DbKey]:
    if finding.database is not None:
        key = (finding.target, finding.database)
        return [key] if key in view.rows else []
    return [k for k in view.rows if k[0] == finding.target]


def is_exposure(finding: FindingRecord) -> bool:
    """A known advisory that applies here: VULNERABLE, exposed, not muted."""
    return finding.kind == "VULNERABLE" and finding.exposed and not finding.muted


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
