"""Run the user's queries before and after the update, and judge them.

Each query runs in a new session (so database-level defaults such as
``hnsw.ef_search`` apply, as they do for the application) inside a read-only
transaction with a statement timeout. Exact queries must return identical rows;
nearest-neighbour queries are compared by recall against the same query run as an
exact search (``SET LOCAL enable_indexscan = off``), before and after. Any other
difference, an error appearing or going away included, is ``changed`` and fails.
"""

from __future__ import annotations

import difflib
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
DIFF_LINES = 8


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
    """Pass only on the same result (or the same error); any other change is ``changed``.

    An error that goes away is a change as much as one that appears: an application may
    rely on the error (a dimension check, a cast it catches). ``-- expect: changed``
    turns the rule round for a query the update is meant to change.
    """
    result = CaseResult(
        id=f"regression.{query.name}",
        category=spec.category,
        critical=spec.critical,
        verdict=Verdict.PASS,
        why="",
        check=query.compare,
        before=public(before),
        after=public(after),
    )
    if query.knn and "error" not in before and "error" not in after:
        drop = spec.expect("max_recall_drop", 0.01)
        rb, ra = float(before["recall"]), float(after["recall"])
        ok = ra >= rb - drop
        result.verdict = Verdict.PASS if ok else Verdict.FAIL
        result.why = f"recall vs exact search {rb:.3f} -> {ra:.3f} (allowed drop {drop:g})"
        return result
    diff = difference(before, after, query.compare)
    result.after = {**(result.after or {}), "outcome": "changed" if diff else "same"}
    if query.expect_changed:
        result.verdict = Verdict.PASS if diff else Verdict.FAIL
        result.why = (
            f"changed, as the queries file expects: {diff}"
            if diff
            else "expected to change (-- expect: changed), but the result is the same"
        )
    elif diff:
        result.verdict, result.why = Verdict.FAIL, f"changed: {diff}"
    else:
        result.why = (
            f"same error before and after: {after['error']}"
            if "error" in after
            else f"same result ({_MODES[query.compare]}, {after['rows']} rows)"
        )
    return result


_MODES = {"ordered": "rows in order", "rows": "rows in any order", "set": "distinct rows",
          "knn-recall": "rows"}  # fmt: skip


def difference(before: dict[str, Any], after: dict[str, Any], compare: str) -> str:
    """A readable account of how two results differ ("" when they do not)."""
    if "error" in before or "error" in after:
        if before.get("error") == after.get("error"):
            return ""
        return f"{_describe(before)} before -> {_describe(after)} after"
    a, b = _normal(before["_all"], compare), _normal(after["_all"], compare)
    if a == b:
        return ""
    if len(a) == len(b):
        pairs = [(i, x, y) for i, (x, y) in enumerate(zip(a, b, strict=True), 1) if x != y]
        head = f"{len(pairs)} of {len(a)} rows differ"
        where = "row" if compare == "ordered" else "sorted row"
        shown_rows = [f"{where} {i}: {list(x)} -> {list(y)}" for i, x, y in pairs[:DIFF_LINES]]
        more_rows = len(pairs) - len(shown_rows)
        tail = f" | ... {more_rows} more" if more_rows > 0 else ""
        return f"{head}: " + " | ".join(shown_rows) + tail
    else:
        head = f"{len(a)} rows before, {len(b)} after"
    lines = [
        ln
        for ln in difflib.unified_diff(
            ["\t".join(r) for r in a], ["\t".join(r) for r in b], n=0, lineterm=""
        )
        if not ln.startswith(("@@", "---", "+++"))
    ]
    shown = lines[:DIFF_LINES]
    more = len(lines) - len(shown)
    return f"{head}: " + " | ".join(shown) + (f" | ... {more} more" if more > 0 else "")


def _describe(doc: dict[str, Any]) -> str:
    if "error" in doc:
        return f"error ({doc['error']})"
    rows = doc.get("first_rows") or []
    first = f", first {rows[0]}" if rows else ""
    return f"success ({doc.get('rows', 0)} rows{first})"


def _normal(rows: list[tuple[str, ...]], compare: str) -> list[tuple[str, ...]]:
    if compare == "set":
        return sorted(set(rows))
    if compare == "ordered":
        return list(rows)
    return sorted(rows)


def public(doc: dict[str, Any]) -> dict[str, Any]:
    """The measurement without the full row list (kept out of reports)."""
    return {k: v for k, v in doc.items() if not k.startswith("_")}
