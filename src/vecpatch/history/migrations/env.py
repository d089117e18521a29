"""Alembic environment for the history store.

vecpatch runs migrations itself (``HistoryStore.open``) and hands over an open
connection in ``config.attributes["connection"]``, so the upgrade shares the
transaction (and lock) the store took. The URL branch only serves developers
running ``alembic`` by hand to write a new revision.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from vecpatch.history.engine import VERSION_TABLE
from vecpatch.history.schema import metadata


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        render_as_batch=True,  # SQLite needs table rebuilds for most ALTERs
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("set sqlalchemy.url (alembic -x or alembic.ini) to run migrations by hand")
    with create_engine(url).begin() as conn:
        _run(conn)
