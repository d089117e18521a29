"""The history store: the record every metric is computed from.

A small, typed repository over SQLAlchemy Core. Everything written passes
through :func:`vecpatch.redact.redact_value` first, because history outlives
the process, may be shared between operators, and must never hold a password.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, fields
from datetime import UTC, datetime
from typing import Any, Self, TypeVar

from sqlalchemy import Connection, Engine, Table, and_, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql.dml import Insert

from vecpatch import __version__
from vecpatch.errors import VecpatchError
from vecpatch.history import schema as t
from vecpatch.history.engine import history_url, make_engine, upgrade
from vecpatch.history.records import (
    RUN_KINDS,
    ApplyStepRecord,
    FindingRecord,
    FirstSeenKind,
    IncidentRecord,
    IncidentSource,
    RolloutStateRecord,
    RunKind,
    RunRecord,
    ScanRecord,
    StageCaseRecord,
)
from vecpatch.pgerrors import first_line
from vecpatch.redact import redact_dsn, redact_value

R = TypeVar("R")

# Free-text columns that may echo a DSN or a server error; JSON columns are always cleaned.
_TEXT_COLUMNS = frozenset({"target", "reason", "title", "cause"})
_JSON_COLUMNS = frozenset({"facts", "payload", "detail", "summary"})


class HistoryError(VecpatchError):
    """The history store cannot be opened or written."""


def utcnow() -> datetime:
    return datetime.now(UTC)


class HistoryStore:
    """Read and write vecpatch's history (SQLite by default, or PostgreSQL)."""

    def __init__(self, engine: Engine, secrets: Iterable[str] = ()) -> None:
        self.engine = engine
        self._secrets: set[str] = {s for s in secrets if s}

    @classmethod
    def open(
        cls,
        url: str | None = None,
        *,
        secrets: Iterable[str] = (),
        environ: Mapping[str, str] = os.environ,
    ) -> Self:
        """Open (creating and migrating as needed) the store at *url* or the default."""
        resolved = history_url(url, environ)
        try:
            engine = make_engine(resolved)
            upgrade(engine)
        except (SQLAlchemyError, OSError) as exc:
            shown = redact_dsn(resolved)
            raise HistoryError(
                f"cannot open history store {shown}: {redact_dsn(first_line(exc))}",
                hint="check --history / $VECPATCH_HISTORY and that the location is writable",
            ) from None
        return cls(engine, secrets)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @property
    def url(self) -> str:
        """The store's URL with any password hidden."""
        return self.engine.url.render_as_string(hide_password=True)

    def add_secrets(self, *secrets: str) -> None:
        """Register secret values (e.g. resolved passwords) to scrub from everything stored."""
        self._secrets.update(s for s in secrets if s)

    # -- internals -----------------------------------------------------------------

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    def _clean(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """Redact a row's free-text and JSON values before it is written."""
        out: dict[str, Any] = {}
        for key, value in row.items():
            if value is not None and (key in _TEXT_COLUMNS or key in _JSON_COLUMNS):
                value = redact_value(value, self._secrets)
            out[key] = value
        return out

    def _insert_ignore(self, table: Table) -> Insert:
        """INSERT … ON CONFLICT DO NOTHING, for atomic insert-if-absent on both back-ends."""
        if self.engine.dialect.name == "postgresql":
            return postgresql.insert(table).on_conflict_do_nothing()
        return sqlite.insert(table).on_conflict_do_nothing()

    def _add(self, table: Table, records: Iterable[Any], stamp: str | None = None) -> int:
        rows = []
        for record in records:
            row = asdict(record)
            if stamp and row.get(stamp) is None:
                row[stamp] = utcnow()
            rows.append(self._clean(row))
        if rows:
            with self._tx() as conn:
                conn.execute(insert(table), rows)
        return len(rows)

    def _rows(self, cls: type[R], query: Any) -> list[R]:
        names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        with self.engine.connect() as conn:
            result = conn.execute(query).mappings().all()
        return [cls(**{k: v for k, v in row.items() if k in names}) for row in result]

    # -- runs --------------------------------------------------------------------

    def start_run(
        self,
        kind: RunKind,
        *,
        environment: str | None = None,
        run_id: str | None = None,
        started_at: datetime | None = None,
    ) -> str:
        """Record that an operation started; return its id (a UUID string)."""
        if kind not in RUN_KINDS:
            raise HistoryError(f"unknown run kind {kind!r} (expected one of {RUN_KINDS})")
        run_id = run_id or str(uuid.uuid4())
        row = {
            "id": run_id,
            "kind": kind,
            "status": "running",
            "environment": environment,
            "started_at": started_at or utcnow(),
            "vecpatch_version": __version__,
        }
        with self._tx() as conn:
            conn.execute(insert(t.runs), row)
        return run_id

    def finish_run(
        self,
        run_id: str,
        status: str,
        summary: Mapping[str, Any] | None = None,
        *,
        finished_at: datetime | None = None,
    ) -> None:
        """Close a run with its outcome and a JSON-able summary."""
        values = self._clean({"status": status, "summary": summary})
        values["finished_at"] = finished_at or utcnow()
        with self._tx() as conn:
            done = conn.execute(update(t.runs).where(t.runs.c.id == run_id).values(**values))
        if done.rowcount != 1:
            raise HistoryError(f"no run {run_id} in the history store")

    def get_run(self, run_id: str) -> RunRecord | None:
        found = self._rows(RunRecord, select(t.runs).where(t.runs.c.id == run_id))
        return found[0] if found else None

    def runs(self, kind: RunKind | None = None, since: datetime | None = None) -> list[RunRecord]:
        """Runs, oldest first, optionally of one kind and started at/after *since*."""
        query = select(t.runs).order_by(t.runs.c.started_at, t.runs.c.id)
        if kind is not None:
            query = query.where(t.runs.c.kind == kind)
        if since is not None:
            query = query.where(t.runs.c.started_at >= since)
        return self._rows(RunRecord, query)

    # -- scans and findings --------------------------------------------------------

    def record_scan_result(self, result: ScanRecord) -> None:
        self._add(t.scan_results, [result], stamp="recorded_at")

    def record_scan_results(self, results: Iterable[ScanRecord]) -> int:
        return self._add(t.scan_results, results, stamp="recorded_at")

    def scan_results(self, run_id: str) -> list[ScanRecord]:
        query = select(t.scan_results).where(t.scan_results.c.run_id == run_id)
        return self._rows(ScanRecord, query.order_by(t.scan_results.c.id))

    def latest_scan_results(self) -> list[ScanRecord]:
        """For every (target, database) ever scanned, the row from its most recent scan run."""
        s, r = t.scan_results, t.runs
        ranked = (
            select(
                s,
                func.row_number()
                .over(
                    partition_by=(s.c.target, s.c.database),
                    order_by=(r.c.started_at.desc(), s.c.id.desc()),
                )
                .label("rank"),
            )
            .join(r, r.c.id == s.c.run_id)
            .subquery()
        )
        query = (
            select(ranked).where(ranked.c.rank == 1).order_by(ranked.c.target, ranked.c.database)
        )
        return self._rows(ScanRecord, query)

    def record_findings(self, findings: Iterable[FindingRecord]) -> int:
        return self._add(t.findings, findings, stamp="recorded_at")

    def findings_for_run(self, run_id: str) -> list[FindingRecord]:
        query = select(t.findings).where(t.findings.c.run_id == run_id)
        return self._rows(FindingRecord, query.order_by(t.findings.c.id))

    # -- staging, apply, rollout ---------------------------------------------------------

    def record_stage_case(self, case: StageCaseRecord) -> None:
        self._add(t.stage_cases, [case], stamp="recorded_at")

    def stage_cases(self, run_id: str) -> list[StageCaseRecord]:
        query = select(t.stage_cases).where(t.stage_cases.c.run_id == run_id)
        return self._rows(StageCaseRecord, query.order_by(t.stage_cases.c.id))

    def record_apply_step(self, step: ApplyStepRecord) -> None:
        self._add(t.apply_steps, [step], stamp="started_at")

    def apply_steps(self, run_id: str) -> list[ApplyStepRecord]:
        query = select(t.apply_steps).where(t.apply_steps.c.run_id == run_id)
        return self._rows(ApplyStepRecord, query.order_by(t.apply_steps.c.id))

    def set_rollout_state(self, state: RolloutStateRecord) -> None:
        """Create or replace where one database stands in a rollout."""
        row = self._clean(asdict(state))
        row["updated_at"] = row["updated_at"] or utcnow()
        key = and_(
            t.rollout_state.c.rollout_id == state.rollout_id,
            t.rollout_state.c.target == state.target,
            t.rollout_state.c.database == state.database,
        )
        with self._tx() as conn:
            if conn.execute(update(t.rollout_state).where(key).values(**row)).rowcount == 0:
                conn.execute(insert(t.rollout_state), row)

    def rollout_states(self, rollout_id: str) -> list[RolloutStateRecord]:
        r = t.rollout_state
        query = select(r).where(r.c.rollout_id == rollout_id)
        return self._rows(RolloutStateRecord, query.order_by(r.c.wave, r.c.target, r.c.database))

    # -- incidents ---------------------------------------------------------------------

    def add_incident(
        self,
        title: str,
        *,
        source: IncidentSource = "manual",
        opened_at: datetime | None = None,
        advisory_id: str | None = None,
        target: str | None = None,
        database: str | None = None,
        cause: str | None = None,
        run_id: str | None = None,
    ) -> str:
        """Open an incident; return its id."""
        incident = IncidentRecord(
            id=str(uuid.uuid4()),
            opened_at=opened_at or utcnow(),
            title=title,
            source=source,
            advisory_id=advisory_id,
            target=target,
            database=database,
            cause=cause,
            run_id=run_id,
        )
        self._add(t.incidents, [incident])
        return incident.id

    def list_incidents(self, *, open_only: bool = False) -> list[IncidentRecord]:
        query = select(t.incidents).order_by(t.incidents.c.opened_at)
        if open_only:
            query = query.where(t.incidents.c.closed_at.is_(None))
        return self._rows(IncidentRecord, query)

    def close_incident(self, incident_id: str, closed_at: datetime | None = None) -> bool:
        """Close an open incident; False if it does not exist or was already closed."""
        query = (
            update(t.incidents)
            .where(t.incidents.c.id == incident_id, t.incidents.c.closed_at.is_(None))
            .values(closed_at=closed_at or utcnow())
        )
        with self._tx() as conn:
            return conn.execute(query).rowcount == 1

    # -- catalog and notifications ------------------------------------------------------

    def record_first_seen(self, kind: FirstSeenKind, key: str, when: datetime) -> datetime:
        """Remember when a release/advisory was first seen; return the earliest stored time.

        Idempotent and safe under concurrency: an earlier *when* moves the date back,
        a later one leaves it alone.
        """
        c = t.catalog_first_seen.c
        match = and_(c.kind == kind, c.key == key)
        with self._tx() as conn:
            conn.execute(
                self._insert_ignore(t.catalog_first_seen),
                {
                    "kind": kind,
                    "key": key,
                    "first_seen_at": when,
                },
            )
            conn.execute(
                update(t.catalog_first_seen)
                .where(match, c.first_seen_at > when)
                .values(first_seen_at=when)
            )
            stored = conn.execute(select(c.first_seen_at).where(match)).scalar_one()
        assert isinstance(stored, datetime)
        return stored

    def first_seen(self, kind: FirstSeenKind, key: str) -> datetime | None:
        c = t.catalog_first_seen.c
        with self.engine.connect() as conn:
            value = conn.execute(
                select(c.first_seen_at).where(c.kind == kind, c.key == key)
            ).scalar_one_or_none()
        return value if isinstance(value, datetime) else None

    def notification_seen(self, dedup_key: str) -> bool:
        c = t.notifications.c
        with self.engine.connect() as conn:
            found = conn.execute(select(c.dedup_key).where(c.dedup_key == dedup_key)).first()
        return found is not None

    def mark_notified(
        self, dedup_key: str, channel: str | None = None, sent_at: datetime | None = None
    ) -> bool:
        """Record a sent notification; False if *dedup_key* was already recorded (by anyone)."""
        row = {"dedup_key": dedup_key, "channel": channel, "sent_at": sent_at or utcnow()}
        query = self._insert_ignore(t.notifications).returning(t.notifications.c.dedup_key)
        with self._tx() as conn:
            # RETURNING, not rowcount: the driver's rowcount is unreliable for ON CONFLICT.
            return conn.execute(query, row).first() is not None
