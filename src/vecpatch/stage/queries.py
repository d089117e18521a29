"""The user's own queries: parsed from a plain SQL file or taken from pg_stat_statements.

A file holds statements ending with ``;``. Comment lines right before a statement
annotate it (docs/stage.md):

- ``-- name: NAME`` names its case (otherwise the id is derived from the statement's
  text, stable while the statement is unchanged);
- ``-- compare: ordered | rows | set | knn-recall`` chooses how before and after are
  compared. By default a nearest-neighbour query (``ORDER BY <distance operator> ...
  LIMIT k``) is judged by recall, a query with ``ORDER BY`` by its rows in order, any
  other by its rows in any order;
- ``-- expect: changed`` says the update is meant to change this result: it then passes
  only if the result did change.
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
_ANNOTATION = re.compile(r"^\s*--\s*(compare|expect):\s*(\S.*?)\s*$", re.IGNORECASE)
_ORDER_BY = re.compile(r"\bORDER\s+BY\b", re.IGNORECASE)
COMPARISONS = ("ordered", "rows", "set", "knn-recall")
EXPECTATIONS = ("same", "changed")
_KNN = re.compile(
    r"ORDER\s+BY\s+.*(<->|<#>|<=>|<\+>|<~>|<%>).*\bLIMIT\b", re.IGNORECASE | re.DOTALL
)
_SAFE_ID = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class UserQuery:
    """One statement of the user's and how it is judged."""

    name: str
    sql: str
    compare: str = "rows"
    """``ordered``, ``rows`` (any order), ``set`` (distinct rows) or ``knn-recall``."""
    expect_changed: bool = False

    @property
    def knn(self) -> bool:
        return self.compare == "knn-recall"


def default_comparison(statement: str) -> str:
    """How a statement is compared when the file does not say."""
    if is_knn(statement):
        return "knn-recall"
    return "ordered" if _ORDER_BY.search(statement) else "rows"


def query_of(name: str, statement: str, notes: dict[str, str] | None = None) -> UserQuery:
    """A query with its annotations (``compare``, ``expect``) applied."""
    notes = notes or {}
    compare = notes.get("compare") or default_comparison(statement)
    return UserQuery(name, statement, compare, notes.get("expect") == "changed")


def derived_name(statement: str) -> str:
    digest = hashlib.sha1(" ".join(statement.split()).encode(), usedforsecurity=False)
    return f"sql-{digest.hexdigest()[:10]}"


def is_knn(statement: str) -> bool:
    return _KNN.search(statement) is not None


def parse_queries(text: str) -> list[UserQuery]:
    """Split a SQL file into named statements (``;`` outside quotes ends one)."""
    out: list[UserQuery] = []
    name: str | None = None
    notes: dict[str, str] = {}
    buf: list[str] = []
    for number, line in enumerate(text.splitlines(), 1):
        found = _NAME.match(line)
        if found and not "".join(buf).strip():
            name = _SAFE_ID.sub("-", found.group(1)).strip("-")
            continue
        note = _ANNOTATION.match(line)
        if note and not "".join(buf).strip():
            notes[note.group(1).lower()] = _annotation(note.group(1), note.group(2), number)
            continue
        buf.append(line)
        joined = "\n".join(buf)
        if _ends_statement(joined):
            statement = joined.strip().rstrip(";").strip()
            if _strip_comments(statement):
                out.append(query_of(name or derived_name(statement), statement, notes))
            name, notes, buf = None, {}, []
    rest = "\n".join(buf).strip()
    if _strip_comments(rest):
        out.append(query_of(name or derived_name(rest), rest, notes))
    seen: set[str] = set()
    dupes = [q.name for q in out if q.name in seen or seen.add(q.name)]  # type: ignore[func-returns-value]
    if dupes:
        raise UsageError(f"duplicate query names in the queries file: {sorted(set(dupes))}")
    return out


def _annotation(key: str, value: str, line: int) -> str:
    allowed = COMPARISONS if key.lower() == "compare" else EXPECTATIONS
    value = value.lower()
    if value not in allowed:
        raise UsageError(
            f"queries file line {line}: -- {key.lower()}: {value!r} is not one of "
            f"{', '.join(allowed)}"
        )
    return value


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
    "AND s.query !~* 'pg_stat_statements|pg_extension' "
    "ORDER BY s.total_exec_time DESC LIMIT {}"
)
SHOWN_UNBOUND = 3


def top_statements(conn: psycopg.Connection[Any], n: int) -> tuple[list[UserQuery], str]:
    """The top ``n`` read queries of pg_stat_statements, ``$n`` bound to sampled values.

    A statement that cannot be bound is left out and named in the note with the reason.
    """
    from vecpatch.stage.binding import bind, placeholders

    installed = conn.execute(
        sql.SQL("SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'")
    ).fetchone()
    if not installed:
        return [], "no --queries file and pg_stat_statements is not installed: no user queries"
    try:
        rows = conn.execute(TOP.format(sql.Literal(n))).fetchall()
    except psycopg.Error as exc:
        return [], f"pg_stat_statements unreadable: {first_line(exc)}"
    found: list[UserQuery] = []
    unbound: list[str] = []
    with_values = 0
    for (text,) in rows:
        statement = str(text)
        bound = bind(conn, statement)
        if bound.sql is None:
            unbound.append(f"{' '.join(statement.split())[:80]!r} ({bound.why})")
            continue
        with_values += bool(placeholders(statement))
        found.append(query_of(derived_name(statement), bound.sql))
    note = (
        f"top {len(found)} queries from pg_stat_statements "
        f"({with_values} with placeholders bound to sampled values)"
    )
    if unbound:
        shown = "; ".join(unbound[:SHOWN_UNBOUND])
        more = f"; and {len(unbound) - SHOWN_UNBOUND} more" if len(unbound) > SHOWN_UNBOUND else ""
        note += f"; {len(unbound)} could not be bound: {shown}{more}"
    return found, note
