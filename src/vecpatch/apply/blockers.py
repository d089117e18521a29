"""Who is in the way: the sessions blocking a lock wait, named for the operator.

"lock timeout" alone sends an operator hunting; the answer is in ``pg_blocking_pids``,
but only while the wait lasts, so a side session watches the waiting transaction and keeps
the last blockers it saw, with the relation (or object) the wait was for.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

from vecpatch.apply.session import Endpoint

_WAITING = sql.SQL(
    "SELECT l.locktype, l.mode, coalesce(l.relation::regclass::text, "
    "CASE WHEN l.classid = 'pg_extension'::regclass THEN 'extension vector' END) "
    "FROM pg_locks l WHERE l.pid = {pid} AND NOT l.granted LIMIT 1"
)
_BLOCKERS = sql.SQL(
    "SELECT a.pid, a.usename, a.application_name, a.state, "
    "extract(epoch FROM now() - a.xact_start)::float8, a.query_start "
    "FROM unnest(pg_blocking_pids({pid})) AS b(pid) JOIN pg_stat_activity a ON a.pid = b.pid "
    "ORDER BY a.pid"
)


def session_text(row: tuple[Any, ...]) -> str:
    """``session PID (user U, application A, STATE, transaction open N s, query since T)``."""
    pid, user, app, state, age, query_start = row
    parts = [f"user {user}", f"application {app or '(none)'}", str(state or "unknown state")]
    parts.append(f"transaction open {age:.0f} s" if age is not None else "no open transaction")
    if isinstance(query_start, datetime):
        parts.append(f"query started {query_start:%Y-%m-%d %H:%M:%S %Z}")
    return f"session {pid} ({', '.join(parts)})"


def blockers(conn: psycopg.Connection[Any], pid: int) -> str | None:
    """What ``pid`` waits for and who holds it, or None when it is not waiting."""
    waiting = conn.execute(_WAITING.format(pid=sql.Literal(pid))).fetchone()
    rows = conn.execute(_BLOCKERS.format(pid=sql.Literal(pid))).fetchall()
    if not rows:
        return None
    what = "a lock"
    if waiting:
        locktype, mode, name = waiting
        what = f"{mode} on {name or locktype}"
    return f"waiting for {what}, held by " + "; ".join(session_text(r) for r in rows)


class BlockerWatch:
    """Polls ``pg_blocking_pids`` of one backend from a side session while a block runs."""

    def __init__(self, endpoint: Endpoint, pid: int, interval: float = 0.1) -> None:
        self._endpoint = endpoint
        self._pid = pid
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self.last: str | None = None

    def __enter__(self) -> BlockerWatch:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _watch(self) -> None:
        try:
            with self._endpoint.connect() as conn:
                while not self._stop.wait(self._interval):
                    seen = blockers(conn, self._pid)
                    if seen:
                        self.last = seen
        except psycopg.Error:
            return  # naming blockers is a courtesy: never a reason to fail the update

    def describe(self) -> str:
        return self.last or "the blocking session was not seen (it let go before a look)"
