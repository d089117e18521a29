"""Where the history lives and how to reach it safely from several processes at once.

SQLite gets WAL (readers never block the writer), a generous busy timeout and
``BEGIN IMMEDIATE`` for every transaction: a deferred transaction that reads and
then writes can fail at once with "database is locked" instead of waiting, which
is exactly what concurrent scans would hit. PostgreSQL needs only its own
transactions; schema upgrades there are serialised by an advisory lock.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from importlib.resources import as_file, files
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url

from vecpatch import paths

ENV_VAR = "VECPATCH_HISTORY"
VERSION_TABLE = "vecpatch_schema_version"
BUSY_TIMEOUT_MS = 30_000
_PG_LOCK_KEY = 0x76656370  # "vecp": serialises concurrent schema upgrades


def history_url(explicit: str | None = None, environ: Mapping[str, str] = os.environ) -> str:
    """The SQLAlchemy URL to use: explicit (flag/config), then ``$VECPATCH_HISTORY``,
    then ``history.db`` in the state directory.

    A bare path is taken as an SQLite file; ``postgresql://`` and ``postgres://``
    are mapped to the psycopg 3 driver, the only PostgreSQL driver vecpatch ships.
    """
    raw = explicit or environ.get(ENV_VAR) or str(paths.state_dir() / "history.db")
    if "://" not in raw:
        raw = f"sqlite:///{Path(raw).expanduser().absolute()}"
    for prefix in ("postgresql://", "postgres://"):
        if raw.startswith(prefix):
            return "postgresql+psycopg://" + raw[len(prefix) :]
    return raw


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" hook, not the driver, decide when transactions start.
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str) -> Engine:
    """An engine configured for safe concurrent use of the given back-end."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(parsed, pool_pre_ping=True)


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest revision shipped with this vecpatch.

    The migration scripts are found through the package (``importlib.resources``),
    never the current directory, so this works from any installed copy.
    """
    from alembic import command  # imported here: Alembic is heavy and only needed on open
    from alembic.config import Config

    migrations = files("vecpatch.history") / "migrations"
    with as_file(migrations) as location, engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
        config = Config()
        config.set_main_option("script_location", str(location).replace("%", "%%"))
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
