"""Read the history store into a :class:`HistoryData` (the only I/O of the metrics).

One query per table, through the store's own schema and record types, rather than one
per run: a dashboard refresh over months of scans must stay quick.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import select

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


def load_history(store: HistoryStore, catalog: Catalog | None = None) -> HistoryData:
    """Everything the metrics read; *catalog* supplies release dates for the cadence."""
    return HistoryData(
        runs=_rows(store, RunRecord, select(t.runs).order_by(t.runs.c.started_at, t.runs.c.id)),
        scan_results=_rows(store, ScanRecord, select(t.scan_results).order_by(t.scan_results.c.id)),
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
