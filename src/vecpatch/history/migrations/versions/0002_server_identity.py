"""Scan rows carry the server's identity, so aliases of one server merge in the history.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02

``server_id`` is the probe's stable identity of the PostgreSQL server a target reached
(``sysid:<system identifier>`` where the role may read ``pg_control_system()``, else
``addr:<host>:<port>`` as the server reports it). Rows written before this revision have
none; the metrics fall back to the target name for them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("scan_results") as batch:
        batch.add_column(sa.Column("server_id", sa.String(128)))
    op.create_index("ix_scan_results_server_db", "scan_results", ["server_id", "database"])


def downgrade() -> None:
    op.drop_index("ix_scan_results_server_db", table_name="scan_results")
    with op.batch_alter_table("scan_results") as batch:
        batch.drop_column("server_id")
