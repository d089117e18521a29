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
from typing import Any

import psycopg
from psycopg import errors, sql

from vecpatch import recall
from vecpatch.apply.model import Check
from vecpatch.pgerrors import first_line
from vecpatch.probe.facts import DatabaseFacts, VectorIndex
from vecpatch.recall import RecallSample

K = 10
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
        except errors.LockNotAvailable:
            raise  # 55P03 is a busy table, not a broken package: the update retries
        except psycopg.Error as exc:
            checks.append(Check(name, False, first_line(exc)))
    return checks


Baseline = dict[str, RecallSample]
"""Recall@k per index (``schema.name``) on its sampled queries before the update, in another
session; the check after the update reruns exactly those queries and compares pairs."""


def _key(idx: VectorIndex) -> str:
    return f"{idx.schema}.{idx.name}"


def index_checks(
    conn: psycopg.Connection[Any],
    db: DatabaseFacts,
    threshold: float,
    baseline: Baseline | None = None,
) -> list[Check]:
    """One index scan per sampled query per vector index, against exact search (recall@k).

    With a baseline, the same queries run again and the index fails only on a paired drop
    from its own level (:func:`vecpatch.recall.paired`): an index whose normal recall is
    low is not a broken update, but a confirmed drop from its own level is. Without one
    (the baseline could not be read) the fixed ``threshold`` is all there is, and the
    check says so.
    """
    out = []
    for idx in db.indexes:
        name = f"index {idx.schema}.{idx.name} ({idx.method}, {', '.join(idx.opclasses)})"
        before = baseline.get(_key(idx)) if baseline is not None else None
        try:
            with conn.transaction():
                out.append(_index_check(conn, idx, name, threshold, before))
        except errors.LockNotAvailable:
            raise  # 55P03 is a busy table, not a broken package: the update retries
        except psycopg.Error as exc:
            out.append(Check(name, False, first_line(exc)))
    return out


def index_recalls(
    conn: psycopg.Connection[Any],
    db: DatabaseFacts,
    why: list[str] | None = None,
    queries: int = recall.DEFAULT_QUERIES,
) -> Baseline:
    """Every checkable index's recall now, per sampled query (the baseline for the checks).

    An index without a baseline is judged against the plain threshold; ``why`` collects the
    reason for each one left out, so an empty baseline is never silent.
    """
    _extension_path(conn, db)
    found: Baseline = {}
    skipped = why if why is not None else []
    for idx in db.indexes:
        try:
            with conn.transaction():
                sample = _measure(conn, idx, None, queries)
        except psycopg.Error as exc:
            skipped.append(f"{_key(idx)}: {first_line(exc)}")
            continue
        if sample is not None and sample.recalls:
            found[_key(idx)] = sample
        else:
            skipped.append(f"{_key(idx)}: not measurable (no vector column, operator or rows)")
    return found


def _measure(
    conn: psycopg.Connection[Any],
    idx: VectorIndex,
    before: RecallSample | None,
    queries: int = recall.DEFAULT_QUERIES,
) -> RecallSample | None:
    """Recall on ``before``'s queries (or a fresh sample); None when the index is not checkable."""
    column = idx.columns[0] if idx.columns else None
    op = operator_for(idx.opclasses[0]) if idx.opclasses else None
    if column is None or op is None or " WHERE " in idx.definition.upper():
        return None
    table = sql.Identifier(idx.schema, idx.table)
    col = sql.Identifier(column)
    ctype = _column_type(conn, idx.schema, idx.table, column)
    samples = (
        list(before.queries)
        if before is not None
        else recall.sample_vectors(conn, idx.schema, idx.table, column, queries)
    )
    order = sql.SQL("{c} " + op + " {q}::" + ctype)
    knn = sql.SQL("SELECT ({o})::float8 FROM {t} ORDER BY {o} LIMIT {k}")
    recalls = []
    for q in samples:
        query = knn.format(o=order.format(c=col, q=sql.Literal(q)), t=table, k=sql.Literal(K))
        _index_mode(conn, True)
        approx = [float(r[0]) for r in conn.execute(query).fetchall()]
        _index_mode(conn, False)
        exact = [float(r[0]) for r in conn.execute(query).fetchall()]
        recalls.append(recall.tie_recall(approx, exact, K))
    _index_mode(conn, None)
    return RecallSample(tuple(samples), tuple(recalls), K)


def _index_check(
    conn: psycopg.Connection[Any],
    idx: VectorIndex,
    name: str,
    threshold: float,
    before: RecallSample | None,
) -> Check:
    sample = _measure(conn, idx, before)
    if sample is None:
        return Check(name, True, "expression, partial or unknown operator class: skipped", True)
    if not sample.recalls:
        return Check(name, True, "table is empty: nothing to compare", True)
    used = _uses_index(conn, idx, sample.queries[0])
    note = "" if used else "; the planner did not choose this index"
    if before is None:
        detail = (
            f"recall@{K} {sample.mean:.2f} over {len(sample.recalls)} queries (no baseline of "
            f"its own: fixed threshold {threshold:.2f})"
        )
        return Check(name, sample.mean >= threshold, detail + note)
    change = recall.paired(before.recalls, sample.recalls)
    return Check(name, not change.regressed, change.describe(K) + note)


def _uses_index(conn: psycopg.Connection[Any], idx: VectorIndex, q: str) -> bool:
    column = str(idx.columns[0])
    op = str(operator_for(idx.opclasses[0]))
    ctype = _column_type(conn, idx.schema, idx.table, column)
    order = sql.SQL("{c} " + op + " {q}::" + ctype).format(
        c=sql.Identifier(column), q=sql.Literal(q)
    )
    query = sql.SQL("SELECT 1 FROM {t} ORDER BY {o} LIMIT {k}").format(
        t=sql.Identifier(idx.schema, idx.table), o=order, k=sql.Literal(K)
    )
    _index_mode(conn, True)
    plan = conn.execute(sql.SQL("EXPLAIN (FORMAT JSON) {}").format(query)).fetchone()
    _index_mode(conn, None)
    return plan is not None and f'"{idx.name}"' in json.dumps(plan[0])


def _index_mode(conn: psycopg.Connection[Any], index: bool | None) -> None:
    on = {True: ("off", "on"), False: ("on", "off"), None: ("on", "on")}[index]
    _local(conn, "enable_seqscan", on[0])
    _local(conn, "enable_indexscan", on[1])
    _local(conn, "enable_indexonlyscan", on[1])
    _local(conn, "enable_bitmapscan", "off" if index is not None else "on")
    if index:
        _local(conn, "hnsw.ef_search", "100")
        _local(conn, "ivfflat.probes", "32")


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
