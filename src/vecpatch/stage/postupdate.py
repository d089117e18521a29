"""SQL the deploy runs right after the update (``--post-update-sql FILE``).

Real rollouts rarely stop at ``ALTER EXTENSION``: a migration tweaks a setting or
touches data. Running that same SQL in staging, between the update and the after-phase,
lets the plan catch what it does to recall or to query results (e.g. ``ALTER DATABASE
... SET hnsw.ef_search = 4``). One transaction, ``SET LOCAL lock_timeout``.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
from psycopg import sql

from vecpatch.apply.session import Endpoint
from vecpatch.errors import UsageError
from vecpatch.pgerrors import first_line
from vecpatch.stage.db import LOCK_TIMEOUT, set_local
from vecpatch.stage.queries import parse_queries


def run(endpoint: Endpoint, path: Path, log: list[str]) -> str:
    """Run every statement of ``path`` in one transaction; a note for the report."""
    try:
        statements = parse_queries(path.read_text("utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read --post-update-sql {path}: {exc.strerror}") from None
    try:
        with endpoint.connect(autocommit=False) as conn:
            set_local(conn, "lock_timeout", LOCK_TIMEOUT)
            for stmt in statements:
                log.append(stmt.sql)
                conn.execute(sql.SQL(stmt.sql))  # the operator's SQL
            conn.commit()
    except psycopg.Error as exc:
        reason = endpoint.clean(first_line(exc))
        return f"post-update SQL {path.name} failed and was rolled back: {reason}"
    return f"post-update SQL {path.name}: {len(statements)} statement(s) committed"
