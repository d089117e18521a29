"""Soak: watch the database for a while after COMMIT for errors the update may cause.

Counters (``pg_stat_database`` rollbacks, conflicts, deadlocks) give deltas anyone can
read; the server log shows the errors themselves, such as SQLSTATE 42883 or ``could not
find function ...``. The log is found without leaving a trace in it: privileges are asked
with ``has_function_privilege`` before a function is called, ``pg_current_logfile()`` names
the collector's file, and otherwise the platform's conventional place is read with
``missing_ok`` (no error for a file that is not there). When no log can be read, the log
check is ``skipped`` with the reason and the soak is a warning, never a clean ``ok``.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from vecpatch.apply.session import Endpoint, error_text
from vecpatch.platform.logs import stderr_log_candidates

_COUNTERS = sql.SQL(
    "SELECT xact_rollback, conflicts, deadlocks FROM pg_stat_database "
    "WHERE datname = current_database()"
)
_PATTERN = re.compile(r"could not find function|42883|vector\.so|incompatible library", re.I)
MAX_LOG_BYTES = 4 * 1024 * 1024
_LOCAL_HOSTS = ("127.0.0.1", "::1", "localhost", "")

_ACCESS = sql.SQL(
    """
SELECT json_build_object(
  'current', has_function_privilege('pg_current_logfile()', 'EXECUTE'),
  'read', has_function_privilege('pg_read_file(text, bigint, bigint, boolean)', 'EXECUTE')
          AND has_function_privilege('pg_stat_file(text, boolean)', 'EXECUTE'),
  'server_files', pg_has_role(current_user, 'pg_read_server_files', 'USAGE'),
  'data_directory', (SELECT setting FROM pg_settings WHERE name = 'data_directory'),
  'cluster_name', current_setting('cluster_name'),
  'major', current_setting('server_version_num')::int / 10000
)
"""
)


def _counters(conn: psycopg.Connection[Any]) -> tuple[int, int, int]:
    conn.execute(sql.SQL("SELECT pg_stat_clear_snapshot()"))
    row = conn.execute(_COUNTERS).fetchone()
    return (int(row[0]), int(row[1]), int(row[2])) if row else (0, 0, 0)


def soak(endpoint: Endpoint, seconds: float, since: datetime) -> dict[str, Any]:
    """Watch for ``seconds``; return counter deltas, matching log lines and an ``outcome``:
    ``ok`` (log read, nothing found), ``failed`` (errors) or ``warning`` (log not checked)."""
    report: dict[str, Any] = {"seconds": seconds}
    try:
        with endpoint.connect() as conn:
            before = _counters(conn)
            time.sleep(seconds)
            after = _counters(conn)
            report.update(
                rollbacks=after[0] - before[0],
                conflicts=after[1] - before[1],
                deadlocks=after[2] - before[2],
            )
            log = _read_log(conn, endpoint, since)
            report.update(log.as_report())
    except psycopg.Error as exc:
        report["error"] = error_text(exc, endpoint)
    if report.get("log_errors") or report.get("error"):
        report["outcome"] = "failed"
    elif report.get("log_check") != "checked":
        report["outcome"] = "warning"
    else:
        report["outcome"] = "ok"
    report["ok"] = report["outcome"] == "ok"
    return report


@dataclass(frozen=True)
class LogRead:
    """What the log check saw: the file, the matching lines, or why it was skipped."""

    checked: bool
    note: str
    file: str | None = None
    errors: tuple[str, ...] = ()

    def as_report(self) -> dict[str, Any]:
        return {
            "log_check": "checked" if self.checked else "skipped",
            "log": self.note,
            "log_file": self.file,
            "log_errors": list(self.errors),
        }


def _read_log(conn: psycopg.Connection[Any], endpoint: Endpoint, since: datetime) -> LogRead:
    row = conn.execute(_ACCESS).fetchone()
    access: dict[str, Any] = row[0] if row else {}
    tried: list[str] = []
    current = _current_logfile(conn) if access.get("current") else None
    if current is not None:
        if access.get("read"):
            return _server_read(conn, current, since, absolute=False)
        tried.append(f"{current} (no EXECUTE on pg_read_file)")
    elif not access.get("current"):
        tried.append("pg_current_logfile() (not granted to this role)")
    else:
        tried.append("pg_current_logfile() (logging collector off)")
    candidates = stderr_log_candidates(
        access.get("data_directory"), str(access.get("cluster_name") or ""), int(access["major"])
    )
    for path in candidates:
        if access.get("read") and access.get("server_files"):
            found = _server_read(conn, path, since, absolute=True)
            if found.checked:
                return found
            tried.append(f"{path} ({found.note})")
        elif _local(endpoint) and os.access(path, os.R_OK):
            return _local_read(Path(path), since)
        else:
            tried.append(f"{path} (not readable by this role or from here)")
    if not candidates and access.get("data_directory") is None:
        tried.append("the platform's log location (data_directory not readable)")
    return LogRead(False, "server log not readable: tried " + "; ".join(tried))


def _local(endpoint: Endpoint) -> bool:
    """A server on loopback or a socket: a file path here is the server's own file."""
    return endpoint.host in _LOCAL_HOSTS or endpoint.host.startswith("/")


def _current_logfile(conn: psycopg.Connection[Any]) -> str | None:
    row = conn.execute(sql.SQL("SELECT pg_current_logfile()")).fetchone()
    return str(row[0]) if row and row[0] else None


def _server_read(
    conn: psycopg.Connection[Any], path: str, since: datetime, *, absolute: bool
) -> LogRead:
    """Read the tail of ``path`` through the server (missing_ok: no error when absent)."""
    row = conn.execute(
        sql.SQL("SELECT (pg_stat_file({}, true)).size").format(sql.Literal(path))
    ).fetchone()
    if not row or row[0] is None:
        return LogRead(False, "no such file", path)
    start = max(0, int(row[0]) - MAX_LOG_BYTES)
    text = conn.execute(
        sql.SQL("SELECT pg_read_file({}, {}, {}, true)").format(
            sql.Literal(path), sql.Literal(start), sql.Literal(MAX_LOG_BYTES)
        )
    ).fetchone()
    where = "read through the server" + ("" if not absolute else " (platform location)")
    return _judge(str(text[0]) if text and text[0] else "", path, since, where)


def _local_read(path: Path, since: datetime) -> LogRead:
    """Read the tail of a log file on this host (the server is on loopback)."""
    try:
        with path.open("rb") as fh:
            fh.seek(max(0, path.stat().st_size - MAX_LOG_BYTES))
            text = fh.read().decode("utf-8", "replace")
    except OSError as exc:
        return LogRead(False, f"server log not readable: {path}: {exc.strerror}", str(path))
    return _judge(text, str(path), since, "read on this host")


def _judge(text: str, path: str, since: datetime, where: str) -> LogRead:
    lines = [line for line in text.splitlines() if _PATTERN.search(line) and _after(line, since)]
    return LogRead(True, f"read {path} ({where})", path, tuple(lines[-20:]))


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
