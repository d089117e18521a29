"""Small database helpers the staging checks share.

Every session is new (so ``ALTER DATABASE ... SET`` defaults apply, as for the
application), every write runs in a transaction with ``SET LOCAL lock_timeout``, and
scratch objects live in a transaction that is rolled back: staging keeps no litter.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql

from vecpatch.apply.session import Endpoint

LOCK_TIMEOUT = "2s"
STATEMENT_TIMEOUT = "300s"


def set_local(conn: psycopg.Connection[Any], name: str, value: str) -> None:
    """``SET LOCAL name = value`` with both bound as literals."""
    conn.execute(
        sql.SQL("SELECT set_config({}, {}, true)").format(sql.Literal(name), sql.Literal(value))
    )


@contextmanager
def scratch(endpoint: Endpoint, *, read_only: bool = False) -> Iterator[psycopg.Connection[Any]]:
    """A fresh session inside one transaction that is always rolled back."""
    with endpoint.connect(autocommit=False) as conn:
        try:
            if read_only:
                conn.execute(sql.SQL("SET TRANSACTION READ ONLY"))
            set_local(conn, "lock_timeout", LOCK_TIMEOUT)
            set_local(conn, "statement_timeout", STATEMENT_TIMEOUT)
            yield conn
        finally:
            if not conn.closed:
                conn.rollback()


@contextmanager
def savepoint(conn: psycopg.Connection[Any]) -> Iterator[None]:
    """A nested block whose effects are always undone (errors included)."""
    with conn.transaction(force_rollback=True):
        yield


def scalar(conn: psycopg.Connection[Any], query: sql.SQL | sql.Composed) -> Any:
    row = conn.execute(query).fetchone()
    return row[0] if row else None


def extversion(conn: psycopg.Connection[Any]) -> str | None:
    value = scalar(conn, sql.SQL("SELECT extversion FROM pg_extension WHERE extname = 'vector'"))
    return str(value) if value is not None else None
