"""Scan history as observations: which databases each scan saw, and what it found there.

Shared by the vulnerability window (findings over time), current exposure (the latest
scan of each database) and the fleet table. Server-level findings (``database`` is
None, e.g. PostgreSQL advisories) apply to every database the scan saw on that server.
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
    """One scan run: the databases it reached and the findings per database."""

    run: RunRecord
    rows: dict[DbKey, ScanRecord] = field(default_factory=dict)
    findings: dict[DbKey, list[FindingRecord]] = field(default_factory=dict)

    @property
    def at(self) -> datetime:
        return self.run.started_at


def scan_views(data: HistoryData, scope: Scope = ALL) -> list[ScanView]:
    """Every scan run in *scope*, oldest first, with findings spread to their databases."""
    environments = data.target_environments()
    rows_by_run: dict[str, list[ScanRecord]] = defaultdict(list)
    for row in data.scan_results:
        if row.database is not None and scope.includes(row.target, environments):
            rows_by_run[row.run_id].append(row)
    findings_by_run: dict[str, list[FindingRecord]] = defaultdict(list)
    for finding in data.findings:
        findings_by_run[finding.run_id].append(finding)
    views: list[ScanView] = []
    for run in data.runs_of("scan"):
        view = ScanView(run)
        for row in rows_by_run.get(run.id, []):
            assert row.database is not None
            view.rows[(row.target, row.database)] = row
            view.findings[(row.target, row.database)] = []
        for finding in findings_by_run.get(run.id, []):
            for key in _keys_for(finding, view):
                view.findings[key].append(finding)
        if view.rows:
            views.append(view)
    return views


def _keys_for(finding: FindingRecord, view: ScanView) -> list[DbKey]:
    if finding.database is not None:
        key = (finding.target, finding.database)
        return [key] if key in view.rows else []
    return [k for k in view.rows if k[0] == finding.target]


def is_exposure(finding: FindingRecord) -> bool:
    """A known advisory that applies here: VULNERABLE, exposed, not muted."""
    return finding.kind == "VULNERABLE" and finding.exposed and not finding.muted


def latest_views(views: list[ScanView]) -> dict[DbKey, tuple[ScanView, ScanRecord]]:
    """For each database, the most recent scan that reached it."""
    latest: dict[DbKey, tuple[ScanView, ScanRecord]] = {}
    for view in views:
        for key, row in view.rows.items():
            if row.reachable:
                latest[key] = (view, row)
    return latest
