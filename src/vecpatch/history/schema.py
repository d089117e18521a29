"""Tables of the history store, as SQLAlchemy Core metadata.

This is the *current* shape, used by queries and by Alembic autogenerate when a
developer writes the next migration. The database itself is only ever changed by
the migrations in ``migrations/versions``; a test checks the two agree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
)
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()

# Portable JSON: JSONB on PostgreSQL (indexable, compact), JSON text on SQLite.
Json = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in and out, on both back-ends.

    SQLite has no time zones, so values are stored as naive UTC text there and
    made aware again on the way out. Naive inputs are refused rather than guessed.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the history store; use an aware UTC time")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _run_fk(ondelete: str = "CASCADE", nullable: bool = False) -> Column[Any]:
    return Column("run_id", String(36), ForeignKey("runs.id", ondelete=ondelete), nullable=nullable)


runs = Table(
    "runs",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("environment", String(64)),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("finished_at", UTCDateTime()),
    Column("summary", Json),
    Column("vecpatch_version", String(32), nullable=False),
    Index("ix_runs_kind_started", "kind", "started_at"),
)

scan_results = Table(
    "scan_results",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _run_fk(),
    Column("target", String(255), nullable=False),
    Column("environment", String(64)),
    Column("database", String(255)),
    Column("reachable", Boolean, nullable=False),
    Column("reason", Text),
    Column("pg_version", String(64)),
    Column("pgvector_installed", String(32)),
    Column("pgvector_default", String(32)),
    Column("facts", Json),
    Column("recorded_at", UTCDateTime(), nullable=False),
    Column("server_id", String(128)),
    Index("ix_scan_results_run", "run_id"),
    Index("ix_scan_results_target_db", "target", "database"),
    Index("ix_scan_results_server_db", "server_id", "database"),
)

findings = Table(
    "findings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _run_fk(),
    Column("target", String(255), nullable=False),
    Column("database", String(255)),
    Column("kind", String(32), nullable=False),
    Column("advisory_id", String(64)),
    Column("severity", String(16)),
    Column("affected", Boolean, nullable=False),
    Column("exposed", Boolean, nullable=False),
    Column("fix_version", String(32)),
    Column("fix_available_at", UTCDateTime()),
    Column("installed_version", String(32)),
    Column("muted", Boolean, nullable=False),
    Column("payload", Json),
    Column("recorded_at", UTCDateTime(), nullable=False),
    Index("ix_findings_run", "run_id"),
    Index("ix_findings_advisory", "advisory_id"),
)

stage_cases = Table(
    "stage_cases",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _run_fk(),
    Column("case_id", String(128), nullable=False),
    Column("category", String(64), nullable=False),
    Column("critical", Boolean, nullable=False),
    Column("verdict", String(16), nullable=False),
    Column("duration", Float),
    Column("detail", Json),
    Column("recorded_at", UTCDateTime(), nullable=False),
    Index("ix_stage_cases_run", "run_id"),
)

apply_steps = Table(
    "apply_steps",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _run_fk(),
    Column("target", String(255), nullable=False),
    Column("database", String(255)),
    Column("step", String(64), nullable=False),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("duration", Float),
    Column("outcome", String(16), nullable=False),
    Column("detail", Json),
    Index("ix_apply_steps_run", "run_id"),
)

incidents = Table(
    "incidents",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("opened_at", UTCDateTime(), nullable=False),
    Column("closed_at", UTCDateTime()),
    Column("advisory_id", String(64)),
    Column("target", String(255)),
    Column("database", String(255)),
    Column("title", Text, nullable=False),
    Column("cause", Text),
    Column("source", String(16), nullable=False),
    _run_fk(ondelete="SET NULL", nullable=True),
)

catalog_first_seen = Table(
    "catalog_first_seen",
    metadata,
    Column("kind", String(16), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("first_seen_at", UTCDateTime(), nullable=False),
)

notifications = Table(
    "notifications",
    metadata,
    Column("dedup_key", String(255), primary_key=True),
    Column("channel", String(64)),
    Column("sent_at", UTCDateTime(), nullable=False),
)

rollout_state = Table(
    "rollout_state",
    metadata,
    Column("rollout_id", String(36), ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("target", String(255), primary_key=True),
    Column("database", String(255), primary_key=True),
    Column("wave", Integer),
    Column("state", String(16), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("detail", Json),
)
