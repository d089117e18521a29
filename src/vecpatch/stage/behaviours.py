"""The rest of what pgvector's own regression suite covers, checked on staging.

:mod:`vecpatch.stage.functional` checks each type's I/O, distances and functions against
NumPy; this module adds the behaviours an application leans on without calling a
function: btree indexes (``=``, ``ORDER BY``), binary ``COPY`` (the types' send and
receive functions), arithmetic and comparison operators, casts from integer and numeric
arrays, NULL and zero vectors, the errors bad input must raise, index option bounds and
the dimension limits. Each is checked against NumPy or a stated expectation (the value,
or the fact that the statement fails with a data exception), for every type the version
has, in savepoints of a transaction that is rolled back.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import psycopg
from psycopg import sql

from vecpatch.catalog.versions import PgvectorVersion
from vecpatch.pgerrors import first_line
from vecpatch.stage import vectors as V
from vecpatch.stage.db import savepoint, set_local
from vecpatch.stage.functional import _pairs, compare, evaluate, type_data
from vecpatch.stage.model import Check

Tol = tuple[float, float]
_SAMPLE = {"vector": "'[1,2,3]'", "halfvec": "'[1,2,3]'", "sparsevec": "'{1:1,2:2,3:3}/3'"}
_ZERO = {"vector": "'[0,0,0]'", "halfvec": "'[0,0,0]'", "sparsevec": "'{}/3'"}
_NORM = {"vector": "vector_norm", "halfvec": "l2_norm", "sparsevec": "l2_norm"}


def _types(version: PgvectorVersion) -> list[str]:
    return ["vector"] + (
        ["halfvec", "sparsevec"] if version >= PgvectorVersion.parse("0.7.0") else []
    )


def run_behaviours(conn: psycopg.Connection[Any], version: str, tol: Tol) -> list[Check]:
    """Every behaviour below for every type ``version`` has."""
    have = PgvectorVersion.parse(version)
    checks: list[Check] = []
    for t in _types(have):
        checks += [btree(conn, t), copy_binary(conn, t), comparisons(conn, t)]
        checks += nulls_and_zeros(conn, t, have)
        checks += bad_input(conn, t)
        checks += dimension_limits(conn, t)
    checks += arithmetic(conn, have, tol)
    checks += array_casts(conn, have)
    checks += index_option_bounds(conn)
    return checks


def _rows(conn: psycopg.Connection[Any], query: sql.SQL | sql.Composed) -> list[tuple[Any, ...]]:
    return list(conn.execute(query).fetchall())


def btree(conn: psycopg.Connection[Any], t: str) -> Check:
    """A btree index finds ``=`` and orders like a sort (and, for dense types, like NumPy)."""
    name = f"{t} btree index: = and ORDER BY"
    data = type_data(t)
    try:
        with savepoint(conn):
            conn.execute(sql.SQL("CREATE TEMP TABLE vecpatch_bt AS SELECT n, a AS v FROM {}")
                         .format(_pairs(data)))  # fmt: skip
            conn.execute(sql.SQL("CREATE INDEX vecpatch_bt_v ON vecpatch_bt (v)"))
            set_local(conn, "enable_seqscan", "off")
            probe = sql.SQL("SELECT n FROM vecpatch_bt WHERE v = {}::{}").format(
                sql.Literal(data.a_text[3]), sql.SQL(t)
            )
            plan = str(_rows(conn, sql.SQL("EXPLAIN {}").format(probe)))
            found = [r[0] for r in _rows(conn, probe)]
            by_index = [r[0] for r in _rows(conn, sql.SQL("SELECT n FROM vecpatch_bt ORDER BY v"))]
            for knob in ("enable_indexscan", "enable_indexonlyscan", "enable_bitmapscan"):
                set_local(conn, knob, "off")
            set_local(conn, "enable_seqscan", "on")
            by_sort = [r[0] for r in _rows(conn, sql.SQL("SELECT n FROM vecpatch_bt ORDER BY v"))]
    except psycopg.Error as exc:
        return Check(name, False, first_line(exc))
    problems = []
    if "vecpatch_bt_v" not in plan:
        problems.append("= did not use the btree index")
    if found != [3]:
        problems.append(f"= found rows {found}, expected [3]")
    if by_index != by_sort:
        problems.append("index order differs from a sort")
    if t != "sparsevec":
        numpy_order = sorted(range(len(data.a)), key=lambda i: tuple(data.a[i]))
        if by_sort != numpy_order:
            problems.append(f"order {by_sort} is not NumPy's lexicographic {numpy_order}")
    detail = "; ".join(problems) or f"= by index, {len(by_index)} rows in order"
    return Check(name, not problems, detail)


def copy_binary(conn: psycopg.Connection[Any], t: str) -> Check:
    """``COPY ... (FORMAT binary)`` out and back in gives the same values (send/receive)."""
    name = f"{t} binary COPY round trip (send/receive)"
    data = type_data(t)
    try:
        with savepoint(conn):
            cur = conn.cursor()
            out = bytearray()
            query = sql.SQL("COPY (SELECT a FROM {} ORDER BY n) TO STDOUT (FORMAT binary)")
            with cur.copy(query.format(_pairs(data))) as copy:
                for chunk in copy:
                    out += chunk
            conn.execute(sql.SQL("CREATE TEMP TABLE vecpatch_copy (v {})").format(sql.SQL(t)))
            with cur.copy(sql.SQL("COPY vecpatch_copy (v) FROM STDIN (FORMAT binary)")) as copy:
                copy.write(bytes(out))
            back = [str(r[0]) for r in _rows(conn, sql.SQL("SELECT v::text FROM vecpatch_copy"))]
            sent = [str(r[0]) for r in _rows(conn, sql.SQL("SELECT a::text FROM {} ORDER BY n")
                                             .format(_pairs(data)))]  # fmt: skip
    except psycopg.Error as exc:
        return Check(name, False, first_line(exc))
    same = sorted(back) == sorted(sent)
    return Check(name, same, f"{len(back)} values, {len(out)} bytes" if same else
                 f"values changed: {sorted(set(sent) - set(back))[:2]}")  # fmt: skip


def comparisons(conn: psycopg.Connection[Any], t: str) -> Check:
    """``< <= = <> >= >`` agree with lexicographic order (dense types); ``=`` with identity."""
    name = f"{t} comparison operators"
    data = type_data(t)
    query = sql.SQL("SELECT a < b, a <= b, a = b, a <> b, a >= b, a > b, a = a FROM {} ORDER BY n")
    try:
        with savepoint(conn):
            rows = _rows(conn, query.format(_pairs(data)))
    except psycopg.Error as exc:
        return Check(name, False, first_line(exc))
    wrong = []
    for i, row in enumerate(rows):
        x, y = tuple(data.a[i]), tuple(data.b[i])
        want: Sequence[bool | None]
        if t == "sparsevec":
            want = (None, None, x == y, x != y, None, None, True)
        else:
            want = (x < y, x <= y, x == y, x != y, x >= y, x > y, True)
        if any(w is not None and bool(g) != w for g, w in zip(row, want, strict=True)):
            wrong.append(i)
    detail = f"{len(rows)} pairs agree" if not wrong else f"pairs {wrong[:5]} disagree"
    return Check(name, not wrong, detail)


def _value(conn: psycopg.Connection[Any], name: str, expr: str) -> Any:
    got = evaluate(conn, name, sql.SQL("SELECT " + expr))  # constant expressions of this module
    return got if isinstance(got, Check) else got[0]


def nulls_and_zeros(conn: psycopg.Connection[Any], t: str, have: PgvectorVersion) -> list[Check]:
    """NULL in, NULL out; zero vectors have norm 0, NaN cosine distance; NULLs not indexed."""
    s, z = f"{_SAMPLE[t]}::{t}", f"{_ZERO[t]}::{t}"
    expectations: list[tuple[str, str, Any]] = [
        (f"{t} NULL distance is NULL", f"(NULL::{t} <-> {s}) IS NULL", True),
        (f"{t} zero vector norm is 0", f"{_NORM[t]}({z})", 0.0),
        (f"{t} cosine distance to a zero vector is NaN", f"({z} <=> {s})::text", "NaN"),
        (f"{t} L2 distance to a zero vector", f"{z} <-> {s}", float(np.sqrt(14.0))),
    ]
    if have >= PgvectorVersion.parse("0.7.0"):
        expectations.append(
            (f"{t} l2_normalize of a zero vector", f"l2_normalize({z}) = {z}", True)
        )
    checks = []
    for name, expr, want in expectations:
        got = _value(conn, name, expr)
        if isinstance(got, Check):
            checks.append(got)
            continue
        ok = abs(float(got) - want) < 1e-5 if isinstance(want, float) else got == want
        checks.append(Check(name, bool(ok), f"{got!r} (expected {want!r})"))
    checks.append(_nulls_not_indexed(conn, t))
    return checks


def _nulls_not_indexed(conn: psycopg.Connection[Any], t: str) -> Check:
    name = f"{t} HNSW index leaves NULL rows out of nearest-neighbour results"
    opclass = sql.Identifier(f"{t}_l2_ops")
    try:
        with savepoint(conn):
            conn.execute(sql.SQL("CREATE TEMP TABLE vecpatch_null (v {}(3))").format(sql.SQL(t)))
            conn.execute(sql.SQL("INSERT INTO vecpatch_null VALUES ({}), (NULL), ({})").format(
                sql.SQL(f"{_SAMPLE[t]}::{t}"), sql.SQL(f"{_ZERO[t]}::{t}")))  # fmt: skip
            conn.execute(sql.SQL("CREATE INDEX ON vecpatch_null USING hnsw (v {})").format(opclass))
            set_local(conn, "enable_seqscan", "off")
            query = sql.SQL("SELECT count(*) FROM (SELECT v FROM vecpatch_null ORDER BY v <-> {} "
                            "LIMIT 5) s").format(sql.SQL(f"{_SAMPLE[t]}::{t}"))  # fmt: skip
            found = _rows(conn, query)[0][0]
    except psycopg.Error as exc:
        return Check(name, False, first_line(exc))
    return Check(name, found == 2, f"{found} rows of 3 (one NULL; expected 2)")


def _fails(conn: psycopg.Connection[Any], name: str, statement: str, sqlstate: str = "22") -> Check:
    """A statement that must be refused with a data exception (SQLSTATE class ``sqlstate``)."""
    try:
        with savepoint(conn):
            conn.execute(sql.SQL(statement))  # constant statements of this module
    except psycopg.Error as exc:
        state = str(getattr(exc, "sqlstate", "") or "")
        ok = state.startswith(sqlstate)
        return Check(
            name, ok, f"refused: {first_line(exc)}" + ("" if ok else f", expected {sqlstate}")
        )
    return Check(name, False, "accepted, expected an error")


def bad_input(conn: psycopg.Connection[Any], t: str) -> list[Check]:
    """Malformed text, NaN and infinity, no dimensions, mismatched dimensions, typmods."""
    if t == "sparsevec":
        cases = [("malformed", "'{1:1'"), ("NaN", "'{1:NaN}/2'"), ("infinity", "'{1:Infinity}/2'"),
                 ("zero dimensions", "'{}/0'"), ("index out of range", "'{3:1}/2'")]  # fmt: skip
        mismatch = f"'{{1:1}}/2'::{t} <-> '{{1:1}}/3'::{t}"
        typmod = f"'{{1:1}}/3'::{t}(2)"
    else:
        cases = [("malformed", "'[1,2'"), ("NaN", "'[NaN,1]'"), ("infinity", "'[Infinity,1]'"),
                 ("zero dimensions", "'[]'"), ("not a number", "'[1,a]'")]  # fmt: skip
        mismatch = f"'[1,2]'::{t} <-> '[1,2,3]'::{t}"
        typmod = f"'[1,2,3]'::{t}(2)"
    checks = [
        _fails(conn, f"{t} input refused: {what}", f"SELECT {text}::{t}") for what, text in cases
    ]
    checks.append(
        _fails(conn, f"{t} distance of different dimensions refused", f"SELECT {mismatch}")
    )
    checks.append(_fails(conn, f"{t} typmod enforced", f"SELECT {typmod}"))
    return checks


_MAX_DIMS = {"vector": 16000, "halfvec": 16000}
_INDEX_DIMS = {"vector": 2000, "halfvec": 4000}


def dimension_limits(conn: psycopg.Connection[Any], t: str) -> list[Check]:
    """The largest vector the type stores, and the largest column an HNSW index takes."""
    checks = []
    if t in _MAX_DIMS:
        top = _MAX_DIMS[t]
        name = f"{t} stores {top} dimensions"
        got = _value(conn, name, f"vector_dims(array_fill(1, ARRAY[{top}])::real[]::{t})")
        checks.append(got if isinstance(got, Check) else Check(name, got == top, f"{got}"))
        over = f"SELECT array_fill(1, ARRAY[{top + 1}])::real[]::{t}"
        checks.append(_fails(conn, f"{t} refuses {top + 1} dimensions", over, "54"))
        limit = _INDEX_DIMS[t]
        ok = _index_on(conn, t, limit)
        checks.append(Check(f"hnsw indexes {t}({limit})", ok is None, ok or "built"))
        wide = (
            f"CREATE TEMP TABLE vecpatch_dims (v {t}({limit + 1})); "
            f"CREATE INDEX ON vecpatch_dims USING hnsw (v {t}_l2_ops)"
        )
        checks.append(_fails(conn, f"hnsw refuses {t}({limit + 1})", wide, ""))
    else:
        name = "sparsevec stores 1,000,000,000 dimensions"
        got = _value(conn, name, "'{1:1}/1000000000'::sparsevec::text")
        checks.append(got if isinstance(got, Check) else
                      Check(name, got == "{1:1}/1000000000", str(got)))  # fmt: skip
        checks.append(_fails(conn, "sparsevec refuses 1,000,000,001 dimensions",
                             "SELECT '{1:1}/1000000001'::sparsevec", "54"))  # fmt: skip
    return checks


def _index_on(conn: psycopg.Connection[Any], t: str, dims: int) -> str | None:
    try:
        with savepoint(conn):
            conn.execute(sql.SQL(f"CREATE TEMP TABLE vecpatch_dims (v {t}({dims}))"))
            conn.execute(sql.SQL(f"CREATE INDEX ON vecpatch_dims USING hnsw (v {t}_l2_ops)"))
    except psycopg.Error as exc:
        return first_line(exc)
    return None


def arithmetic(conn: psycopg.Connection[Any], have: PgvectorVersion, tol: Tol) -> list[Check]:
    """``+ - *`` element by element and ``||`` (0.7.0) against NumPy, for vector and halfvec."""
    checks = []
    ops: list[tuple[str, str, Any]] = [
        ("+", "a + b", lambda a, b: a + b),
        ("-", "a - b", lambda a, b: a - b),
        ("*", "a * b", lambda a, b: a * b),
    ]
    if have >= PgvectorVersion.parse("0.7.0"):
        ops.append(("||", "a || b", lambda a, b: np.concatenate([a, b], axis=1)))
    for t in ("vector", "halfvec") if have >= PgvectorVersion.parse("0.7.0") else ("vector",):
        data = type_data(t)
        looser = (max(tol[0], 4e-3), max(tol[1], 4e-3)) if t == "halfvec" else tol
        for op, expr, fn in ops:
            name = f"{t} {op}"
            query = sql.SQL("SELECT ({})::text FROM {} ORDER BY n").format(sql.SQL(expr),
                                                                          _pairs(data))  # fmt: skip
            got = evaluate(conn, name, query)
            if isinstance(got, Check):
                checks.append(got)
                continue
            want = fn(data.a, data.b)
            checks.append(compare(name, got, V.as_half(want) if t == "halfvec" else want,
                                  "vector", data.parse, looser))  # fmt: skip
    return checks


def array_casts(conn: psycopg.Connection[Any], have: PgvectorVersion) -> list[Check]:
    """integer[], real[], double precision[] and numeric[] into each type that takes them."""
    arrays = {"integer": "ARRAY[0,1,0,2]", "real": "ARRAY[0,1.5,0,2]",
              "double precision": "ARRAY[0,1.5,0,2]", "numeric": "ARRAY[0,1.5,0,2]"}  # fmt: skip
    dense = {"integer": "[0,1,0,2]", "real": "[0,1.5,0,2]", "double precision": "[0,1.5,0,2]",
             "numeric": "[0,1.5,0,2]"}  # fmt: skip
    targets: list[tuple[str, dict[str, str]]] = [("vector", dense)]
    if have >= PgvectorVersion.parse("0.7.0"):
        targets.append(("halfvec", dense))
    if have >= PgvectorVersion.parse("0.8.0"):
        sparse = {"integer": "{2:1,4:2}/4", "real": "{2:1.5,4:2}/4",
                  "double precision": "{2:1.5,4:2}/4", "numeric": "{2:1.5,4:2}/4"}  # fmt: skip
        targets.append(("sparsevec", sparse))
    checks = []
    for t, expected in targets:
        for element, literal in arrays.items():
            name = f"{element}[] -> {t} cast"
            got = _value(conn, name, f"({literal}::{element}[]::{t})::text")
            if isinstance(got, Check):
                checks.append(got)
                continue
            checks.append(
                Check(name, got == expected[element], f"{got} (expected {expected[element]})")
            )
    return checks


def index_option_bounds(conn: psycopg.Connection[Any]) -> list[Check]:
    """HNSW ``m``/``ef_construction``, IVFFlat ``lists`` and the search settings' ranges."""
    inside = [("hnsw", "m = 2, ef_construction = 4"), ("hnsw", "m = 100, ef_construction = 1000"),
              ("ivfflat", "lists = 1"), ("ivfflat", "lists = 32768")]  # fmt: skip
    outside = [("hnsw", "m = 1"), ("hnsw", "m = 101"), ("hnsw", "ef_construction = 1001"),
               ("hnsw", "m = 16, ef_construction = 8"), ("ivfflat", "lists = 0"),
               ("ivfflat", "lists = 32769")]  # fmt: skip
    checks = []
    for method, options in inside:
        name = f"{method} ({options}) accepted"
        try:
            with savepoint(conn):
                conn.execute(sql.SQL(_BUILD.format(method, options)))
            checks.append(Check(name, True, "built"))
        except psycopg.Error as exc:
            checks.append(Check(name, False, first_line(exc)))
    for method, options in outside:
        name = f"{method} ({options}) refused"
        checks.append(_fails(conn, name, _BUILD.format(method, options), ""))
    for knob, bad in (("hnsw.ef_search", "0"), ("hnsw.ef_search", "1001"),
                      ("ivfflat.probes", "0")):  # fmt: skip
        checks.append(_fails(conn, f"{knob} = {bad} refused", f"SET LOCAL {knob} = {bad}", ""))
    return checks


_BUILD = (
    "CREATE TEMP TABLE vecpatch_opt (v vector(3)); "
    "CREATE INDEX ON vecpatch_opt USING {} (v vector_l2_ops) WITH ({})"
)
