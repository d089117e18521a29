"""Smoke checks of the extension on real rows: types, operators, and every vector index.

Run inside the update transaction before COMMIT (a failure rolls everything back) and
again from a new session after it. What they catch is what a bad package does: a type's
I/O function missing from the library (``could not find function "halfvec_in"``), an
operator that errors, an index that returns rubbish. Index results are compared with an
exact search by recall (ties counted by distance), not equality: approximate indexes
legitimately differ.
"""

from __future__ import annotations

import json
import re
from typing import Any

import psycopg
from psycopg import sql

from vecpatch.apply.model import Check
from vecpatch.pgerrors import first_line
from vecpatch.probe.facts import DatabaseFacts, VectorIndex

K = 10
QUERIES = 3
TOLERANCE = 0.05
"""How far below its own recall before the update an index may fall (same queries, same data)."""
_PGVECTOR_TYPES = ("vector", "halfvec", "sparsevec")
_OPERATORS = {
    "l2_ops": "<->",
    "ip_ops": "<#>",
    "cosine_ops": "<=>",
    "l1_ops": "<+>",
    "hamming_ops": "<~>",
    "jaccard_ops": "<%>",
}


def operator_for(opclass: str) -> str | None:
    """The distance operator an index operator class orders by."""
    for suffix, op in _OPERATORS.items():
        if opclass.endswith(suffix):
            return op
    return None


def _local(conn: psycopg.Connection[Any], name: str, value: str) -> None:
    conn.execute(
        sql.SQL("SELECT set_config({}, {}, true)").format(sql.Literal(name), sql.Literal(value))
    )


def _column_type(conn: psycopg.Connection[Any], schema: str, table: str, column: str) -> str:
    query = sql.SQL(
        "SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
        "WHERE a.attrelid = {}::regclass AND a.attname = {}"
    ).format(sql.Literal(sql.Identifier(schema, table).as_string(conn)), sql.Literal(column))
    row = conn.execute(query).fetchone()
    return str(row[0]) if row else "vector"


def type_checks(conn: psycopg.Connection[Any], db: DatabaseFacts) -> list[Check]:
    """Each pgvector column's values go through the type's output and input functions."""
    checks: list[Check] = []
    for col in db.columns:
        if col.type not in _PGVECTOR_TYPES:
            continue
        name = f"type {col.type}: {col.schema}.{col.table}.{col.column} text round trip"
        query = sql.SQL(
            "SELECT count(*) FROM (SELECT {c} FROM {t} WHERE {c} IS NOT NULL LIMIT 5) s "
            "WHERE ({c}::text)::{ty} IS NOT NULL"
        ).format(
            c=sql.Identifier(col.column),
            t=sql.Identifier(col.schema, col.table),
            ty=sql.SQL(col.type),
        )
        try:
            with conn.transaction():
                n = conn.execute(query).fetchone()
            checks.append(Check(name, True, f"{n[0] if n else 0} values"))
        except psycopg.Error as exc:
            checks.append(Check(name, False, first_line(exc)))
    return checks


Baseline = dict[str, float]
"""Recall@k per index (``schema.name``) measured before the update, in another session."""


def _key(idx: VectorIndex) -> str:
    return f"{idx.schema}.{idx.name}"


def index_checks(
    conn: psycopg.Connection[Any],
    db: DatabaseFacts,
    threshold: float,
    baseline: Baseline | None = None,
) -> list[Check]:
    """One index scan per vector index on real rows, against exact search (recall@k).

    An index passes at ``threshold``, or at its own recall before the update less a
    small tolerance when that was lower: an index whose normal recall is low is not a
    broken update, but a drop from its own level is.
    """
    out = []
    for idx in db.indexes:
        name = f"index {idx.schema}.{idx.name} ({idx.method}, {', '.join(idx.opclasses)})"
        floor = threshold
        if baseline is not None and _key(idx) in baseline:
            floor = min(threshold, baseline[_key(idx)] - TOLERANCE)
        try:
            with conn.transaction():
                out.append(_index_check(conn, idx, name, floor))
        except psycopg.Error as exc:
            out.append(Check(name, False, first_line(exc)))
    return out


def index_recalls(conn: psycopg.Connection[Any], db: DatabaseFacts) -> Baseline:
    """The recall of every checkable index now (the baseline for :func:`index_checks`)."""
    _extension_path(conn, db)
    found: Baseline = {}
    for idx in db.indexes:
        try:
            with conn.transaction():
                check = _index_check(conn, idx, _key(idx), 0.0)
        except psycopg.Error:
            continue
        recall = _RECALL.match(check.detail)
        if recall and not check.skipped:
            found[_key(idx)] = float(recall.group(1))
    return found


_RECALL = re.compile(r"recall@\d+ ([0-9.]+)")


def _index_check(
    conn: psycopg.Connection[Any], idx: VectorIndex, name: str, threshold: float
) -> Check:
    column = idx.columns[0] if idx.columns else None
    op = operator_for(idx.opclasses[0]) if idx.opclasses else None
    if column is None or op is None or " WHERE " in idx.definition.upper():
        return Check(name, True, "expression, partial or unknown operator class: skipped", True)
    table = sql.Identifier(idx.schema, idx.table)
    col = sql.Identifier(column)
    ctype = _column_type(conn, idx.schema, idx.table, column)
    samples = conn.execute(
        sql.SQL("SELECT {c}::text FROM {t} WHERE {c} IS NOT NULL LIMIT {n}").format(
            c=col, t=table, n=sql.Literal(QUERIES)
        )
    ).fetchall()
    if not samples:
        return Check(name, True, "table is empty: nothing to compare", True)
    order = sql.SQL("{c} " + op + " {q}::" + ctype)
    knn = sql.SQL("SELECT ({o})::float8 FROM {t} ORDER BY {o} LIMIT {k}")
    recalls, used = [], True
    for (q,) in samples:
        o = order.format(c=col, q=sql.Literal(q))
        query = knn.format(o=o, t=table, k=sql.Literal(K))
        _index_mode(conn, True)
        used = used and _uses_index(conn, query, idx.name)
        approx = [r[0] for r in conn.execute(query).fetchall()]
        _index_mode(conn, False)
        exact = [r[0] for r in conn.execute(query).fetchall()]
        recalls.append(_recall(approx, exact))
    _index_mode(conn, None)
    recall = sum(recalls) / len(recalls)
    detail = f"recall@{K} {recall:.2f} over {len(samples)} queries (threshold {threshold:.2f})"
    if not used:
        detail += "; the planner did not choose this index"
    return Check(name, recall >= threshold, detail)


def _index_mode(conn: psycopg.Connection[Any], index: bool | None) -> None:
    on = {True: ("off", "on"), False: ("on", "off"), None: ("on", "on")}[index]
    _local(conn, "enable_seqscan", on[0])
    _local(conn, "enable_indexscan", on[1])
    _local(conn, "enable_indexonlyscan", on[1])
    _local(conn, "enable_bitmapscan", "off" if index is not None else "on")
    if index:
        _local(conn, "hnsw.ef_search", "100")
        _local(conn, "ivfflat.probes", "32")


def _uses_index(conn: psycopg.Connection[Any], query: sql.Composed, index: str) -> bool:
    plan = conn.execute(sql.SQL("EXPLAIN (FORMAT JSON) {}").format(query)).fetchone()
    return plan is not None and f'"{index}"' in json.dumps(plan[0])


def _recall(approx: list[float], exact: list[float]) -> float:
    if not exact:
        return 1.0
    bound = exact[-1] + 1e-6 * max(1.0, abs(exact[-1]))
    hits = sum(1 for d in approx[: len(exact)] if d <= bound)
    return hits / len(exact)


def run_checks(
    conn: psycopg.Connection[Any],
    db: DatabaseFacts,
    threshold: float,
    baseline: Baseline | None = None,
) -> list[Check]:
    """Type round trips and index checks; ``conn`` must be inside a transaction."""
    _extension_path(conn, db)
    return [*type_checks(conn, db), *index_checks(conn, db, threshold, baseline)]


def _extension_path(conn: psycopg.Connection[Any], db: DatabaseFacts) -> None:
    """Resolve the checks' casts and operators in pgvector's own schema, whatever the role's
    ``search_path`` (for the rest of this transaction only)."""
    schema = db.pgvector.schema
    if schema:
        _local(conn, "search_path", f"{sql.Identifier(schema).as_string(conn)}, pg_catalog")
