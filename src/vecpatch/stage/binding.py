"""Production's own statements as staging cases: ``$n`` placeholders bound to sampled values.

``pg_stat_statements`` keeps each statement with its constants replaced by ``$1``, ``$2``,
... — the nearest-neighbour queries an application runs all look like
``... ORDER BY embedding <-> $1 LIMIT $2``. Such a statement becomes a case again when
each placeholder gets a value of the right type: PostgreSQL says the types
(``PREPARE``, then ``pg_prepared_statements``), and the value is drawn (repeatably) from
the column the placeholder is compared with, so a query vector is a real vector of that
column; ``LIMIT``/``OFFSET`` get 10 and 0. A placeholder compared with nothing we can
name stays unbound, and the statement is reported with the reason instead of run.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from vecpatch.pgerrors import first_line
from vecpatch.stage.db import savepoint, scalar

_PLACEHOLDER = re.compile(r"\$(\d+)(?!\d)")
_OPS = r"(?:<->|<#>|<=>|<\+>|<~>|<%>|=|<>|!=|<=|>=|<|>)"
_IDENT = r"([A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)?)"
_TABLES = re.compile(r"\b(?:FROM|JOIN)\s+" + _IDENT, re.IGNORECASE)
SAMPLE_SEED = 0.4242
LIMIT_VALUE = 10


@dataclass(frozen=True)
class Bound:
    """A statement with its placeholders bound (``sql``), or why it could not be."""

    statement: str
    sql: str | None = None
    why: str | None = None


def placeholders(statement: str) -> list[int]:
    return sorted({int(n) for n in _PLACEHOLDER.findall(statement)})


def _column_for(statement: str, n: int) -> str | None:
    """The column ``$n`` is compared with (``col <op> $n`` or ``$n <op> col``)."""
    before = re.search(_IDENT + r"\s*" + _OPS + r"\s*\$" + str(n) + r"(?!\d)", statement)
    if before:
        return before.group(1).split(".")[-1]
    after = re.search(r"\$" + str(n) + r"(?!\d)\s*(?:::\w+\s*)?" + _OPS + r"\s*" + _IDENT,
                      statement)  # fmt: skip
    return after.group(1).split(".")[-1] if after else None


def _is_limit(statement: str, n: int) -> str | None:
    found = re.search(r"\b(LIMIT|OFFSET)\s+\$" + str(n) + r"(?!\d)", statement, re.IGNORECASE)
    return found.group(1).upper() if found else None


def parameter_types(conn: psycopg.Connection[Any], statement: str) -> list[str]:
    """The type PostgreSQL infers for each placeholder, in order (raises on a bad statement)."""
    name = f"vecpatch_bind_{secrets.token_hex(4)}"
    with savepoint(conn):
        conn.execute(sql.SQL("PREPARE {} AS {}").format(sql.Identifier(name), sql.SQL(statement)))
        try:
            types = scalar(
                conn,
                sql.SQL(
                    "SELECT parameter_types::text[] FROM pg_prepared_statements WHERE name = {}"
                ).format(sql.Literal(name)),
            )
        finally:
            conn.execute(sql.SQL("DEALLOCATE {}").format(sql.Identifier(name)))
    return [str(t) for t in types or []]


def _sample(conn: psycopg.Connection[Any], statement: str, column: str) -> tuple[str, str] | None:
    """A value of ``column`` from a table the statement reads, and the table's name."""
    for table in dict.fromkeys(m.group(1) for m in _TABLES.finditer(statement)):
        exists = scalar(
            conn,
            sql.SQL(
                "SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass({}) AND attname = {} "
                "AND NOT attisdropped AND attnum > 0"
            ).format(sql.Literal(table), sql.Literal(column)),
        )
        if not exists:
            continue
        ident = sql.Identifier(*table.split("."))
        conn.execute(sql.SQL("SELECT setseed({})").format(sql.Literal(SAMPLE_SEED)))
        value = scalar(
            conn,
            sql.SQL("SELECT {c}::text FROM {t} WHERE {c} IS NOT NULL ORDER BY random() LIMIT 1")
            .format(c=sql.Identifier(column), t=ident),
        )  # fmt: skip
        if value is not None:
            return str(value), table
    return None


def bind(conn: psycopg.Connection[Any], statement: str) -> Bound:
    """``statement`` with every placeholder replaced by a typed literal, or why not."""
    wanted = placeholders(statement)
    if not wanted:
        return Bound(statement, statement)
    try:
        types = parameter_types(conn, statement)
    except psycopg.Error as exc:
        return Bound(statement, why=f"cannot prepare it here: {first_line(exc)}")
    values: dict[int, str] = {}
    for n in wanted:
        if n > len(types):
            return Bound(statement, why=f"${n}: no type for it")
        limit = _is_limit(statement, n)
        if limit:
            values[n] = str(LIMIT_VALUE if limit == "LIMIT" else 0)
            continue
        column = _column_for(statement, n)
        if column is None:
            return Bound(statement, why=f"${n} ({types[n - 1]}) is compared with no column")
        try:
            with savepoint(conn):
                found = _sample(conn, statement, column)
        except psycopg.Error as exc:
            return Bound(statement, why=f"${n}: cannot sample {column}: {first_line(exc)}")
        if found is None:
            return Bound(statement, why=f"${n}: no value of column {column} to sample")
        literal = sql.SQL("{}::{}").format(sql.Literal(found[0]), sql.SQL(types[n - 1]))
        values[n] = literal.as_string(conn)
    text = _PLACEHOLDER.sub(lambda m: values[int(m.group(1))], statement)
    return Bound(statement, text)
