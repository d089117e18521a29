"""Read the history store into a :class:`HistoryData` (the only I/O of the metrics).

One query per table, through the store's own schema and record types, rather than one
per run: a dashboard refresh over months of scans must stay quick.
"""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import case, func, null, select

from vecpatch.catalog.model import Catalog
from vecpatch.history import schema as t
from vecpatch.history.records import (
    ApplyStepRecord,
    FindingRecord,
    IncidentRecord,
    RunRecord,
    ScanRecord,
    StageCaseRecord,
)
from vecpatch.history.store import HistoryStore
from vecpatch.metrics.data import HistoryData

R = TypeVar("R")


def _rows(store: HistoryStore, cls: type[R], query: Any) -> tuple[R, ...]:
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    with store.engine.connect() as conn:
        result = conn.execute(query).mappings().all()
    return tuple(cls(**{k: v for k, v in row.items() if k in names}) for row in result)


def _first_seen(store: HistoryStore) -> dict[str, datetime]:
    c = t.catalog_first_seen.c
    with store.engine.connect() as conn:
        rows = conn.execute(select(c.kind, c.key, c.first_seen_at)).all()
    return {f"{kind}:{key}": when for kind, key, when in rows}


def release_dates(catalog: Catalog | None) -> dict[str, Any]:
    """``product:version`` -> release date for every dated release of the catalog."""
    if catalog is None:
        return {}
    return {f"{r.product.value}:{r.version}": r.date for r in catalog.releases if r.date}


def _scan_rows(store: HistoryStore) -> tuple[ScanRecord, ...]:
    """Scan rows without the per-database facts (the bulk of the table, and no metric reads
    them) but with their ``summary`` (counts the database page shows); a target-level row
    keeps its facts (the databases present on the server)."""
    s = t.scan_results
    facts = case((s.c.database.is_(None), s.c.facts), else_=null()).label("facts")
    summary = case((s.c.database.is_not(None), s.c.facts["summary"]), else_=null())
    columns = [c for c in s.c if c.name != "facts"]
    query = select(*columns, facts, summary.label("summary")).order_by(s.c.id)
    names = {f.name for f in fields(ScanRecord)}
    with store.engine.connect() as conn:
        result = conn.execute(query).mappings().all()
    rows = []
    for row in result:
        record = ScanRecord(**{k: v for k, v in row.items() if k in names and k != "facts"})
        if row["facts"] is not None:
            record = replace(record, facts=row["facts"])
        elif isinstance(row["summary"], dict):
            record = replace(record, facts={"summary": row["summary"]})
        rows.append(record)
    return tuple(rows)


def load_history(store: HistoryStore, catalog: Catalog | None = None) -> HistoryData:
    """Everything the metrics read; *catalog* supplies release dates for the cadence."""
    return HistoryData(
        runs=_rows(store, RunRecord, select(t.runs).order_by(t.runs.c.started_at, t.runs.c.id)),
        scan_results=_scan_rows(store),
        findings=_rows(store, FindingRecord, select(t.findings).order_by(t.findings.c.id)),
        stage_cases=_rows(
            store, StageCaseRecord, select(t.stage_cases).order_by(t.stage_cases.c.id)
        ),
        apply_steps=_rows(
            store, ApplyStepRecord, select(t.apply_steps).order_by(t.apply_steps.c.id)
        ),
        incidents=_rows(
            store, IncidentRecord, select(t.incidents).order_by(t.incidents.c.opened_at)
        ),
        first_seen=_first_seen(store),
        release_dates=release_dates(catalog),
    )


def history_version(store: HistoryStore) -> tuple[Any, ...]:
    """A cheap value that changes whenever anything the metrics read is written.

    Rows are appended except runs (finished in place) and incidents (closed in place):
    counts and highest ids (a row committed late, with a lower id, still changes the count)
    and, for those two, their latest timestamps. One connection, a few aggregates.
    """
    r, i = t.runs.c, t.incidents.c
    parts = [
        select(func.count(), func.max(r.finished_at), func.count(r.finished_at)).select_from(
            t.runs
        ),
        *(
            select(func.max(table.c.id), func.count()).select_from(table)
            for table in (t.scan_results, t.findings, t.stage_cases, t.apply_steps)
        ),
        select(func.count(), func.max(i.closed_at), func.count(i.closed_at)).select_from(
            t.incidents
        ),
        select(func.count(), func.min(t.catalog_first_seen.c.first_seen_at)).select_from(
            t.catalog_first_seen
        ),
    ]
    with store.engine.connect() as conn:
        return tuple(tuple(conn.execute(q).one()) for q in parts)
