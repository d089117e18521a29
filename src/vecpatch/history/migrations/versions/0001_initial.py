"""Initial history schema: runs, scans, findings, staging, apply, incidents, catalog, notify.

Revision ID: 0001
Revises:
Create Date: 2026-11-25

Written out by hand (not imported from ``schema.py``) so that later edits to the
current schema can never change what this revision creates.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TS = sa.DateTime(timezone=True)


def _run_fk(ondelete: str = "CASCADE", nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        "run_id", sa.String(36), sa.ForeignKey("runs.id", ondelete=ondelete), nullable=nullable
    )


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("environment", sa.String(64)),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("finished_at", TS),
        sa.Column("summary", JSON),
        sa.Column("vecpatch_version", sa.String(32), nullable=False),
    )
    op.create_index("ix_runs_kind_started", "runs", ["kind", "started_at"])
    op.create_table(
        "scan_results",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _run_fk(),
        sa.Column("target", sa.String(255), nullable=False),
        sa.Column("environment", sa.String(64)),
        sa.Column("database", sa.String(255)),
        sa.Column("reachable", sa.Boolean, nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("pg_version", sa.String(64)),
        sa.Column("pgvector_installed", sa.String(32)),
        sa.Column("pgvector_default", sa.String(32)),
        sa.Column("facts", JSON),
        sa.Column("recorded_at", TS, nullable=False),
    )
    op.create_index("ix_scan_results_run", "scan_results", ["run_id"])
    op.create_index("ix_scan_results_target_db", "scan_results", ["target", "database"])
    op.create_table(
        "findings",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _run_fk(),
        sa.Column("target", sa.String(255), nullable=False),
        sa.Column("database", sa.String(255)),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("advisory_id", sa.String(64)),
        sa.Column("severity", sa.String(16)),
        sa.Column("affected", sa.Boolean, nullable=False),
        sa.Column("exposed", sa.Boolean, nullable=False),
        sa.Column("fix_version", sa.String(32)),
        sa.Column("fix_available_at", TS),
        sa.Column("installed_version", sa.String(32)),
        sa.Column("muted", sa.Boolean, nullable=False),
        sa.Column("payload", JSON),
        sa.Column("recorded_at", TS, nullable=False),
    )
    op.create_index("ix_findings_run", "findings", ["run_id"])
    op.create_index("ix_findings_advisory", "findings", ["advisory_id"])
    op.create_table(
        "stage_cases",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _run_fk(),
        sa.Column("case_id", sa.String(128), nullable=False),
        sa.Column("category", sa.String(64), nullable=False),
        sa.Column("critical", sa.Boolean, nullable=False),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("duration", sa.Float),
        sa.Column("detail", JSON),
        sa.Column("recorded_at", TS, nullable=False),
    )
    op.create_index("ix_stage_cases_run", "stage_cases", ["run_id"])
    op.create_table(
        "apply_steps",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _run_fk(),
        sa.Column("target", sa.String(255), nullable=False),
        sa.Column("database", sa.String(255)),
        sa.Column("step", sa.String(64), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("duration", sa.Float),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("detail", JSON),
    )
    op.create_index("ix_apply_steps_run", "apply_steps", ["run_id"])
    op.create_table(
        "incidents",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("opened_at", TS, nullable=False),
        sa.Column("closed_at", TS),
        sa.Column("advisory_id", sa.String(64)),
        sa.Column("target", sa.String(255)),
        sa.Column("database", sa.String(255)),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("cause", sa.Text),
        sa.Column("source", sa.String(16), nullable=False),
        _run_fk(ondelete="SET NULL", nullable=True),
    )
    op.create_table(
        "catalog_first_seen",
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("first_seen_at", TS, nullable=False),
    )
    op.create_table(
        "notifications",
        sa.Column("dedup_key", sa.String(255), primary_key=True),
        sa.Column("channel", sa.String(64)),
        sa.Column("sent_at", TS, nullable=False),
    )
    op.create_table(
        "rollout_state",
        sa.Column(
            "rollout_id",
            sa.String(36),
            sa.ForeignKey("runs.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("target", sa.String(255), primary_key=True),
        sa.Column("database", sa.String(255), primary_key=True),
        sa.Column("wave", sa.Integer),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("detail", JSON),
    )


def downgrade() -> None:
    for table in (
        "rollout_state",
        "notifications",
        "catalog_first_seen",
        "incidents",
        "apply_steps",
        "stage_cases",
        "findings",
        "scan_results",
        "runs",
    ):
        op.drop_table(table)
