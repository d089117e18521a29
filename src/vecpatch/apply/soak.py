"""Soak: watch the database for a while after COMMIT for errors the update may cause.

Counters (``pg_stat_database`` rollbacks, conflicts, deadlocks) give deltas anyone can
read; the server log (``pg_ls_logdir``/``pg_read_file``, superuser or granted roles)
shows the errors themselves, such as SQLSTATE 42883 or ``could not find function ...``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg import sql

from vecpatch.apply.session import Endpoint, error_text

_COUNTERS = sql.SQL(
    "SELECT xact_rollback, conflicts, deadlocks FROM pg_stat_database "
    "WHERE datname = current_database()"
)
_PATTERN = re.compile(r"could not find function|42883|vector\.so|incompatible library", re.I)
MAX_LOG_BYTES = 4 * 1024 * 1024


def _counters(conn: psycopg.Connection[Any]) -> tuple[int, int, int]:
    conn.execute(sql.SQL("SELECT pg_stat_clear_snapshot()"))
    row = conn.execute(_COUNTERS).fetchone()
    return (int(row[0]), int(row[1]), int(row[2])) if row else (0, 0, 0)


def _sleep(seconds: float) -> bool:
    time.sleep(seconds)
    return False


Wait = Callable[[float], bool]
"""Sleeps; returns True when told to stop early (a stop request)."""


def soak(
    endpoint: Endpoint, seconds: float, since: datetime, wait: Wait = _sleep
) -> dict[str, Any]:
    """Watch for ``seconds``; return counter deltas and matching log lines.

    ``ok`` is true only when the soak looked and found nothing: an unreadable database is
    not a clean soak. Stopped early, it still reports what it saw (``stopped``, ``watched``).
    """
    report: dict[str, Any] = {"seconds": seconds}
    started = time.monotonic()
    try:
        with endpoint.connect() as conn:
            before = _counters(conn)
            if wait(seconds):
                report.update(stopped=True, watched=round(time.monotonic() - started, 3))
            after = _counters(conn)
            report.update(
                rollbacks=after[0] - before[0],
                conflicts=after[1] - before[1],
                deadlocks=after[2] - before[2],
            )
            report["log_errors"], report["log"] = _log_errors(conn, since)
    except psycopg.Error as exc:
        report["error"] = error_text(exc, endpoint)
    report["ok"] = not report.get("log_errors") and not report.get("error")
    return report


_STAMP = re.compile(r"^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d+)?)(?: ([A-Z]{2,5}|[+-]\d{2}))?")


def _after(line: str, since: datetime) -> bool:
    """Whether a log line was written after ``since`` (the update's COMMIT).

    Lines from before the update (an earlier failed attempt, another database's old error)
    must not fail this apply's soak. The default ``log_line_prefix`` starts with ``%m``;
    a line whose time cannot be read is kept (when in doubt, report).
    """
    found = _STAMP.match(line)
    if found is None:
        return True
    try:
        stamp = datetime.fromisoformat(found.group(1))
    except ValueError:
        return True
    zone = found.group(2)
    if zone in (None, "UTC", "GMT"):
        return stamp.replace(tzinfo=UTC) >= since
    return True


def _log_errors(conn: psycopg.Connection[Any], since: datetime) -> tuple[list[str], str]:
    try:
        files = conn.execute(
            sql.SQL(
                "SELECT name, size FROM pg_ls_logdir() WHERE modification >= {} ORDER BY name"
            ).format(sql.Literal(since))
        ).fetchall()
        directory = conn.execute(sql.SQL("SHOW log_directory")).fetchone()
    except psycopg.Error as exc:
        return [], f"server log not readable: {(str(exc).splitlines() or ['?'])[0]}"
    found: list[str] = []
    base = str(directory[0]) if directory else "log"
    for name, size in files:
        start = max(0, int(size) - MAX_LOG_BYTES)
        try:
            row = conn.execute(
                sql.SQL("SELECT pg_read_file({}, {}, {})").format(
                    sql.Literal(f"{base}/{name}"), sql.Literal(start), sql.Literal(MAX_LOG_BYTES)
                )
            ).fetchone()
        except psycopg.Error:
            continue
        text = str(row[0]) if row else ""
        found += [
            line for line in text.splitlines() if _PATTERN.search(line) and _after(line, since)
        ][-20:]
    note = f"read {len(files)} log file(s)" if files else "no log file written since the update"
    return found, note
