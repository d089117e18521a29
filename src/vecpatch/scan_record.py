"""Write a scan into the history store: the run, facts and findings per database.

Per reachable target there is also one row with ``database`` None and ``reachable`` True
carrying the server's facts and the names of every database on it (``server_databases``);
an unreachable target has one row with ``database`` None and ``reachable`` False.

Kept beside the scan (not in the store) because it is the one place that knows both
the report model and the store's records; the store stays generic.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime, time

from vecpatch.catalog.model import Catalog
from vecpatch.findings import Finding
from vecpatch.history.records import FindingRecord, ScanRecord
from vecpatch.history.store import HistoryStore
from vecpatch.probe.facts import TargetFacts
from vecpatch.report.model import ScanReport, TargetReport


def record_scan(
    store: HistoryStore,
    report: ScanReport,
    facts: Sequence[TargetFacts],
    catalog: Catalog,
    secrets: Sequence[str] = (),
) -> ScanReport:
    """Record the whole scan as one run; return the report carrying its run id."""
    store.add_secrets(*secrets)
    envs = {t.environment for t in report.targets}
    run_id = store.start_run(
        "scan", environment=envs.pop() if len(envs) == 1 else None, started_at=report.generated_at
    )
    record_rows(store, run_id, report, facts, catalog)
    findings = list(report.findings())
    store.finish_run(
        run_id,
        "ok" if not report.unscanned() else "partial",
        {
            "targets": len(report.targets),
            "databases": report.database_count(),
            "findings": len(findings),
            "exposed": sum(1 for f in findings if f.exposed),
            "unscanned": len(report.unscanned()),
        },
    )
    return replace(report, run_id=run_id)


def record_rows(
    store: HistoryStore,
    run_id: str,
    report: ScanReport,
    facts: Sequence[TargetFacts],
    catalog: Catalog,
) -> None:
    """Facts and findings per database, and first-seen dates, under an existing run.

    Also used by queue workers, which each record their target into one shared run.
    """
    by_name = {f.target: f for f in facts}
    store.record_scan_results(_scan_rows(run_id, report, by_name))
    store.record_findings(_finding_rows(run_id, report))
    _first_seen(store, catalog, report.generated_at)


def _scan_rows(
    run_id: str, report: ScanReport, facts: dict[str, TargetFacts]
) -> Iterator[ScanRecord]:
    for target in report.targets:
        server = target.server
        probe = facts.get(target.target)
        if target.failure is not None or server is None:
            reason = target.failure.reason if target.failure else "not scanned"
            yield ScanRecord(
                run_id=run_id,
                target=target.target,
                database=None,
                reachable=False,
                environment=target.environment,
                reason=reason,
                facts=_failure_doc(target, probe),
            )
            continue
        server_doc = probe.to_dict()["server"] if probe else {}
        server_id = probe.server_id if probe and probe.server_id else None
        yield _target_row(run_id, target, server.version, server_doc, probe)
        for db in target.databases:
            pv = db.facts.pgvector if db.facts else None
            yield ScanRecord(
                run_id=run_id,
                target=target.target,
                database=db.name,
                reachable=db.facts is not None,
                environment=target.environment,
                reason=db.failure.reason if db.failure else None,
                pg_version=server.version,
                pgvector_installed=pv.installed_version if pv else None,
                pgvector_default=pv.default_version if pv else None,
                facts={"server": server_doc, "database": _db_doc(probe, db.name)},
                server_id=server_id,
            )


def _target_row(
    run_id: str,
    target: TargetReport,
    pg_version: str,
    server_doc: dict[str, object],
    probe: TargetFacts | None,
) -> ScanRecord:
    """The reachable server itself (``database`` None, ``reachable`` True): its facts and,
    when the probe knew them, every database on it and how long the probe took, so that the
    metrics can tell a dropped database from one this scan did not select. (An unreachable
    target's row is also ``database`` None, but ``reachable`` False.)"""
    facts: dict[str, object] = {"server": server_doc}
    if probe is not None and probe.server_databases:
        facts["server_databases"] = list(probe.server_databases)
    if probe is not None:
        facts["duration_seconds"] = round(probe.duration_seconds, 3)
    return ScanRecord(
        run_id=run_id,
        target=target.target,
        database=None,
        reachable=True,
        environment=target.environment,
        pg_version=pg_version,
        facts=facts,
        server_id=(probe.server_id or None) if probe is not None else None,
    )


def _failure_doc(target: TargetReport, probe: TargetFacts | None) -> dict[str, object]:
    """Why an unreachable target was not scanned, as a class (auth, unreachable, …) the
    metrics can use as a label, and how long the attempt took."""
    doc: dict[str, object] = {}
    if target.failure is not None:
        doc["failure_kind"] = target.failure.kind.value
    if probe is not None:
        doc["duration_seconds"] = round(probe.duration_seconds, 3)
    return doc


def _db_doc(probe: TargetFacts | None, name: str) -> dict[str, object]:
    if probe is None:
        return {}
    for db in probe.to_dict()["databases"]:
        if db["name"] == name:
            return dict(db)
    return {}


def _finding_rows(run_id: str, report: ScanReport) -> Iterator[FindingRecord]:
    for target in report.targets:
        for f in target.all_findings():
            yield _finding_row(run_id, f)


def _finding_row(run_id: str, f: Finding) -> FindingRecord:
    fix_at = (
        datetime.combine(f.fix_available_at, time(), tzinfo=UTC) if f.fix_available_at else None
    )
    return FindingRecord(
        run_id=run_id,
        target=f.target,
        database=f.database,
        kind=f.kind.value,
        advisory_id=f.id,
        severity=f.severity,
        affected=bool(f.affected),
        exposed=bool(f.exposed),
        fix_version=f.fix_version,
        fix_available_at=fix_at,
        installed_version=f.installed_version,
        muted=f.muted,
        payload=f.to_dict(),
    )


def _first_seen(store: HistoryStore, catalog: Catalog, now: datetime) -> None:
    """Remember when vecpatch first knew each release and advisory (vulnerability windows)."""
    for rel in catalog.releases:
        store.record_first_seen("release", f"{rel.product.value}:{rel.version}", now)
    for adv in catalog.advisories:
        store.record_first_seen("advisory", adv.id, now)
