"""The built-in functionality suite: every type's I/O, casts, operators and functions.

Each expression runs in PostgreSQL over fixed test vectors and is compared with NumPy
(:mod:`vecpatch.stage.vectors`). What exists depends on the version (``halfvec``,
``sparsevec``, bit distances, ``<+>``, ``l2_normalize``, ``binary_quantize`` and
``subvector`` arrived in 0.7.0), so each expression carries the version that added it:
a version that should have it and does not is a failure, not a skip.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import psycopg
from psycopg import sql

from vecpatch.catalog.versions import PgvectorVersion
from vecpatch.pgerrors import first_line
from vecpatch.stage import vectors as V
from vecpatch.stage.db import savepoint
from vecpatch.stage.model import Check

DIM = 16
PAIRS = 12
SEED = 20240917
BIT_DIM = 64

Parse = Callable[[str], V.Array]


@dataclass(frozen=True)
class Expr:
    """One SQL expression over ``a`` and ``b`` and its NumPy reference."""

    name: str
    sql: str
    expected: Callable[[V.Array, V.Array], V.Array]
    since: str = "0.1.0"
    returns: str = "number"  # "number", "vector" or "bits"


def _vec_exprs(norm_fn: str, extra_since: str) -> list[Expr]:
    metric = V.METRICS
    return [
        Expr("<-> (L2)", "a <-> b", metric["<->"]),
        Expr("<#> (negative inner product)", "a <#> b", metric["<#>"]),
        Expr("<=> (cosine)", "a <=> b", metric["<=>"]),
        Expr("<+> (L1)", "a <+> b", metric["<+>"], "0.7.0"),
        Expr("l2_distance", "l2_distance(a, b)", V.l2),
        Expr("inner_product", "inner_product(a, b)", V.dot),
        Expr("cosine_distance", "cosine_distance(a, b)", V.cosine),
        Expr("l1_distance", "l1_distance(a, b)", V.l1, "0.5.0"),
        Expr(norm_fn, f"{norm_fn}(a)", lambda a, b: V.norm(a), extra_since),
        Expr(
            "l2_normalize",
            "l2_normalize(a)::text",
            lambda a, b: a / V.norm(a)[:, None],
            "0.7.0",
            "vector",
        ),
    ]


def _dims(a: V.Array, b: V.Array) -> V.Array:
    return np.full(len(a), float(a.shape[1]))


def _quantize(a: V.Array, b: V.Array) -> V.Array:
    out: V.Array = (a > 0).astype(np.float64)
    return out


def _sub(a: V.Array, b: V.Array) -> V.Array:
    out: V.Array = a[:, 2:7]
    return out


_COMMON_DENSE = [
    Expr("vector_dims", "vector_dims(a)", _dims),
    Expr("binary_quantize", "binary_quantize(a)::text", _quantize, "0.7.0", "bits"),
    Expr("subvector", "subvector(a, 3, 5)::text", _sub, "0.7.0", "vector"),
]

SUITES: dict[str, list[Expr]] = {
    "vector": [*_vec_exprs("vector_norm", "0.1.0"), *_COMMON_DENSE],
    "halfvec": [*_vec_exprs("l2_norm", "0.7.0"), *_COMMON_DENSE],
    "sparsevec": _vec_exprs("l2_norm", "0.7.0"),
    "bit": [
        Expr("<~> (Hamming)", "a <~> b", V.hamming),
        Expr("<%> (Jaccard)", "a <%> b", V.jaccard),
        Expr("hamming_distance", "hamming_distance(a, b)", V.hamming),
        Expr("jaccard_distance", "jaccard_distance(a, b)", V.jaccard),
    ],
}


@dataclass(frozen=True)
class TypeData:
    """Inputs for one type: what PostgreSQL receives (text) and what NumPy computes with."""

    type: str
    a_text: list[str]
    b_text: list[str]
    a: V.Array
    b: V.Array
    parse: Parse


def type_data(type_name: str) -> TypeData:
    rng = np.random.default_rng(SEED)
    if type_name == "bit":
        a, b = V.bits(rng, PAIRS, BIT_DIM), V.bits(rng, PAIRS, BIT_DIM)
        return TypeData(type_name, _texts(a, V.bit_text), _texts(b, V.bit_text), a, b, V.parse_bits)
    if type_name == "sparsevec":
        a, b = V.sparse(rng, PAIRS, DIM), V.sparse(rng, PAIRS, DIM)
        fmt: Callable[[V.Array], str] = V.sparse_text
    else:
        a, b = V.dense(rng, PAIRS, DIM), V.dense(rng, PAIRS, DIM)
        fmt = V.vector_text
    texts_a, texts_b = _texts(a, fmt), _texts(b, fmt)
    if type_name == "halfvec":
        a, b = V.as_half(a), V.as_half(b)
    return TypeData(type_name, texts_a, texts_b, a, b, V.parse_vector)


def _texts(rows: V.Array, fmt: Callable[[V.Array], str]) -> list[str]:
    return [fmt(r) for r in rows]


def _pairs(data: TypeData) -> sql.Composed:
    cast = sql.SQL(data.type if data.type != "bit" else "bit varying")
    rows = [
        sql.SQL("({}, {}::{}, {}::{})").format(
            sql.Literal(i), sql.Literal(a), cast, sql.Literal(b), cast
        )
        for i, (a, b) in enumerate(zip(data.a_text, data.b_text, strict=True))
    ]
    return sql.SQL("(VALUES {}) AS v(n, a, b)").format(sql.SQL(", ").join(rows))


def evaluate(
    conn: psycopg.Connection[Any], name: str, query: sql.SQL | sql.Composed
) -> list[Any] | Check:
    """Rows of one column, or a failed :class:`Check` if the statement errors."""
    try:
        with savepoint(conn):
            return [r[0] for r in conn.execute(query).fetchall()]
    except psycopg.Error as exc:
        return Check(name, False, first_line(exc))


def compare(
    name: str,
    got: list[Any],
    expected: V.Array,
    returns: str,
    parse: Parse,
    tol: tuple[float, float],
) -> Check:
    """Agreement of PostgreSQL's values with NumPy's within ``(rtol, atol)``."""
    rtol, atol = tol
    try:
        if returns == "number":
            actual = np.array([float(v) for v in got])
        elif returns == "bits":
            actual = np.array([V.parse_bits(str(v)) for v in got])
        else:
            actual = np.array([parse(str(v)) for v in got])
    except ValueError as exc:
        return Check(name, False, f"unparseable result: {exc}")
    if actual.shape != expected.shape:
        return Check(name, False, f"shape {actual.shape}, NumPy {expected.shape}")
    err = float(np.max(np.abs(actual - expected))) if actual.size else 0.0
    ok = bool(np.allclose(actual, expected, rtol=rtol, atol=atol))
    return Check(name, ok, f"max |pg - numpy| = {err:.3g} over {len(got)} values")


def run_type_suite(
    conn: psycopg.Connection[Any], type_name: str, version: str, tol: tuple[float, float]
) -> list[Check]:
    """I/O, casts, every operator and function of one type the version supports."""
    data = type_data(type_name)
    have = PgvectorVersion.parse(version)
    checks = io_checks(conn, data, tol)
    pairs = _pairs(data)
    for expr in SUITES[type_name]:
        if have < PgvectorVersion.parse(expr.since):
            continue
        label = f"{type_name} {expr.name}"
        query = sql.SQL("SELECT {} FROM {} ORDER BY n").format(sql.SQL(expr.sql), pairs)
        got = evaluate(conn, label, query)
        if isinstance(got, Check):
            checks.append(got)
            continue
        want = expr.expected(data.a, data.b)
        checks.append(compare(label, got, want, expr.returns, data.parse, tol))
    return checks


def io_checks(
    conn: psycopg.Connection[Any], data: TypeData, tol: tuple[float, float]
) -> list[Check]:
    """Text input/output round trips and casts to and from the type."""
    t = data.type
    cast = "bit varying" if t == "bit" else t
    out: list[tuple[str, str, str]] = [(f"{t} text input/output", f"(a::{cast})::text", "self")]
    if t == "vector":
        out += [
            ("vector -> real[] -> vector cast", "((a::real[])::vector)::text", "self"),
            ("double precision[] -> vector cast", "((a::real[])::float8[]::vector)::text", "self"),
        ]
    elif t == "halfvec":
        out += [
            ("halfvec -> vector cast", "(a::vector)::text", "self"),
            ("vector -> halfvec cast", "((a::vector)::halfvec)::text", "self"),
            ("real[] -> halfvec cast", "((a::vector)::real[]::halfvec)::text", "self"),
        ]
    elif t == "sparsevec":
        out += [
            ("sparsevec -> vector cast", "(a::vector)::text", "self"),
            ("vector -> sparsevec cast", "((a::vector)::sparsevec)::text", "self"),
        ]
    checks = []
    for name, expr, _ in out:
        query = sql.SQL("SELECT {} FROM {} ORDER BY n").format(sql.SQL(expr), _pairs(data))
        got = evaluate(conn, name, query)
        if isinstance(got, Check):
            checks.append(got)
            continue
        kind = "bits" if t == "bit" else "vector"
        checks.append(compare(name, got, data.a, kind, data.parse, tol))
    return checks


def run_aggregates(
    conn: psycopg.Connection[Any], version: str, tol: tuple[float, float]
) -> list[Check]:
    """``avg`` and ``sum`` over vector (and halfvec from 0.7.0) against NumPy."""
    have = PgvectorVersion.parse(version)
    checks = []
    for type_name, fn, since in (
        ("vector", "avg", "0.4.0"), ("vector", "sum", "0.5.0"),
        ("halfvec", "avg", "0.7.0"), ("halfvec", "sum", "0.7.0"),
    ):  # fmt: skip
        if have < PgvectorVersion.parse(since):
            continue
        data = type_data(type_name)
        name = f"{fn}({type_name})"
        query = sql.SQL("SELECT ({}(a))::text FROM {}").format(sql.SQL(fn), _pairs(data))
        got = evaluate(conn, name, query)
        if isinstance(got, Check):
            checks.append(got)
            continue
        want = data.a.mean(axis=0) if fn == "avg" else data.a.sum(axis=0)
        if type_name == "halfvec":
            want = V.as_half(want)
        looser = (max(tol[0], 2e-3), max(tol[1], 2e-3)) if type_name == "halfvec" else tol
        checks.append(compare(name, got, want[None, :], "vector", data.parse, looser))
    return checks
