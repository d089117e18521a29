"""The user's own queries: parsed from a plain SQL file or taken from pg_stat_statements.

A file holds statements ending with ``;``; a ``-- name: NAME`` line before one names
its case, otherwise the id is derived from the statement's text (stable while the
statement is unchanged). Nearest-neighbour queries (``ORDER BY <distance operator> ...
LIMIT k``) are recognised so they are judged by recall instead of by equality.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from vecpatch.errors import UsageError
from vecpatch.pgerrors import first_line

_NAME = re.compile(r"^\s*--\s*name:\s*(\S.*?)\s*$", re.IGNORECASE)
_KNN = re.compile(
    r"ORDER\s+BY\s+.*(<->|<#>|<=>|<\+>|<~>|<%>).*\bLIMIT\b", re.IGNORECASE | re.DOTALL
)
_SAFE_ID = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class UserQuery:
    """One statement of the user's and how it is judged."""

    name: str
    sql: str
    knn: bool


def derived_name(statement: str) -> str:
    digest = hashlib.sha1(" ".join(statement.split()).encode(), usedforsecurity=False)
    return f"sql-{digest.hexdigest()[:10]}"


def is_knn(statement: str) -> bool:
    return _KNN.search(statement) is not None


def parse_queries(text: str) -> list[UserQuery]:
    """Split a SQL file into named statements (``;`` outside quotes ends one)."""
    out: list[UserQuery] = []
    name: str | None = None
    buf: list[str] = []
    for line in text.splitlines():
        found = _NAME.match(line)
        if found and not "".join(buf).strip():
            name = _SAFE_ID.sub("-", found.group(1)).strip("-")
            continue
        buf.append(line)
        joined = "\n".join(buf)
        if _ends_statement(joined):
            statement = joined.strip().rstrip(";").strip()
            if _strip_comments(statement):
                out.append(UserQuery(name or derived_name(statement), statement, is_knn(statement)))
            name, buf = None, []
    rest = "\n".join(buf).strip()
    if _strip_comments(rest):
        out.append(UserQuery(name or derived_name(rest), rest, is_knn(rest)))
    seen: set[str] = set()
    dupes = [q.name for q in out if q.name in seen or seen.add(q.name)]  # type: ignore[func-returns-value]
    if dupes:
        raise UsageError(f"duplicate query names in the queries file: {sorted(set(dupes))}")
    return out


def _strip_comments(text: str) -> str:
    return "\n".join(ln for ln in text.splitlines() if not ln.strip().startswith("--")).strip()


def _ends_statement(text: str) -> bool:
    """True when ``text`` ends with a ``;`` that is outside quotes and comments."""
    stripped = text.rstrip()
    if not stripped.endswith(";"):
        return False
    quote: str | None = None
    i = 0
    while i < len(stripped):
        ch = stripped[i]
        if quote:
            if ch == quote:
                quote = None
        elif ch in ("'", '"'):
            quote = ch
        elif stripped.startswith("--", i):
            nl = stripped.find("\n", i)
            if nl < 0:
                return False
            i = nl
        i += 1
    return quote is None


def load_queries(path: Path) -> list[UserQuery]:
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read the queries file {path}: {exc.strerror}") from None
    queries = parse_queries(text)
    if not queries:
        raise UsageError(f"no statements in the queries file {path}")
    return queries


TOP = sql.SQL(
    "SELECT query FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid "
    "WHERE d.datname = current_database() AND s.query ~* '^\\s*(select|with)\\s' "
    "AND s.query !~ '\\$[0-9]' AND s.query !~* 'pg_stat_statements' "
    "ORDER BY s.total_exec_time DESC LIMIT {}"
)


def top_statements(conn: psycopg.Connection[Any], n: int) -> tuple[list[UserQuery], str]:
    """The top ``n`` read queries without parameters from pg_stat_statements, and a note."""
    installed = conn.execute(
        sql.SQL("SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'")
    ).fetchone()
    if not installed:
        return [], "no --queries file and pg_stat_statements is not installed: no user queries"
    try:
        rows = conn.execute(TOP.format(sql.Literal(n))).fetchall()
    except psycopg.Error as exc:
        return [], f"pg_stat_statements unreadable: {first_line(exc)}"
    queries = [str(r[0]) for r in rows]
    found = [UserQuery(derived_name(q), q, is_knn(q)) for q in queries]
    return found, f"top {len(found)} parameter-free queries from pg_stat_statements"
