"""Run the user's queries before and after the update, and judge them.

Each query runs in a new session (so database-level defaults such as
``hnsw.ef_search`` apply, as they do for the application) inside a read-only
transaction with a statement timeout. Exact queries must return identical rows;
nearest-neighbour queries are compared by recall against the same query run as an
exact search (``SET LOCAL enable_indexscan = off``), before and after.
"""

from __future__ import annotations

import hashlib
from typing import Any

import psycopg
from psycopg import sql

from vecpatch.apply.session import Endpoint
from vecpatch.pgerrors import first_line
from vecpatch.stage.db import scratch, set_local
from vecpatch.stage.model import CaseResult, CaseSpec, Verdict
from vecpatch.stage.queries import UserQuery

SHOWN_ROWS = 5


def _rows(conn: psycopg.Connection[Any], text: str) -> list[tuple[str, ...]]:
    cur = conn.execute(sql.SQL(text))  # the user's own statement
    if cur.description is None:
        return []
    return [tuple(repr(v) for v in row) for row in cur.fetchall()]


def measure(endpoint: Endpoint, query: UserQuery) -> dict[str, Any]:
    """One query's result in this phase (or the error it raised)."""
    try:
        with scratch(endpoint, read_only=True) as conn:
            rows = _rows(conn, query.sql)
            doc: dict[str, Any] = _summary(rows)
            if query.knn:
                set_local(conn, "enable_indexscan", "off")
                set_local(conn, "enable_indexonlyscan", "off")
                exact = _rows(conn, query.sql)
                found = len(set(rows) & set(exact))
                doc["recall"] = found / len(exact) if exact else 1.0
                doc["exact_rows"] = len(exact)
            return doc
    except psycopg.Error as exc:
        return {"error": endpoint.clean(first_line(exc))}


def _summary(rows: list[tuple[str, ...]]) -> dict[str, Any]:
    digest = hashlib.sha256("\n".join("\t".join(r) for r in rows).encode()).hexdigest()
    return {
        "rows": len(rows),
        "sha256": digest,
        "first_rows": [list(r) for r in rows[:SHOWN_ROWS]],
        "_all": rows,
    }


def judge(
    spec: CaseSpec, query: UserQuery, before: dict[str, Any], after: dict[str, Any]
) -> CaseResult:
    """Identical rows for exact queries; recall no lower than before - max drop for k-NN."""
    result = CaseResult(
        id=f"regression.{query.name}",
        category=spec.category,
        critical=spec.critical,
        verdict=Verdict.PASS,
        why="",
        check="knn-recall" if query.knn else "identical-result",
        before=public(before),
        after=public(after),
    )
    if "error" in after:
        result.verdict, result.why = Verdict.FAIL, f"fails after the update: {after['error']}"
    elif "error" in before:
        result.verdict = Verdict.PASS
        result.why = f"failed before the update ({before['error']}), runs after"
    elif query.knn:
        drop = spec.expect("max_recall_drop", 0.01)
        rb, ra = float(before["recall"]), float(after["recall"])
        ok = ra >= rb - drop
        result.verdict = Verdict.PASS if ok else Verdict.FAIL
        result.why = f"recall vs exact search {rb:.3f} -> {ra:.3f} (allowed drop {drop:g})"
    else:
        same = before["_all"] == after["_all"]
        result.verdict = Verdict.PASS if same else Verdict.FAIL
        result.why = "identical rows" if same else _difference(before["_all"], after["_all"])
    return result


def _difference(a: list[tuple[str, ...]], b: list[tuple[str, ...]]) -> str:
    if len(a) != len(b):
        return f"result changed: {len(a)} rows before, {len(b)} after"
    for i, (x, y) in enumerate(zip(a, b, strict=True), 1):
        if x != y:
            return f"result changed at row {i}: {list(x)} -> {list(y)}"
    return "result changed"


def public(doc: dict[str, Any]) -> dict[str, Any]:
    """The measurement without the full row list (kept out of reports)."""
    return {k: v for k, v in doc.items() if not k.startswith("_")}
