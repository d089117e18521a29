"""Index builds for every access method x operator class, on a scratch table.

Each index is built inside a savepoint of a transaction that is rolled back, queried
with the planner forced onto it (EXPLAIN must name it), and its top-k compared with a
NumPy exact search by recall, with ties counted by distance. IVFFlat is probed on all
lists and HNSW searched with a wide ``ef_search`` so a correct index finds (nearly) all
true neighbours on this small table; a broken build or a wrong operator does not.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import psycopg
from psycopg import sql

from vecpatch.catalog.versions import PgvectorVersion
from vecpatch.pgerrors import first_line
from vecpatch.stage import vectors as V
from vecpatch.stage.db import savepoint, set_local
from vecpatch.stage.model import Check

ROWS = 300
DIM = 16
BIT_DIM = 64
LISTS = 4
K = 10
QUERIES = 5
SCHEMA = "vecpatch_stage_scratch"


@dataclass(frozen=True)
class Combo:
    method: str
    opclass: str
    column: str
    operator: str
    since: str


def combos() -> list[Combo]:
    out = []
    for col, kind in (("v", "vector"), ("h", "halfvec"), ("s", "sparsevec")):
        for suffix, op in (("l2", "<->"), ("ip", "<#>"), ("cosine", "<=>"), ("l1", "<+>")):
            base = "0.7.0" if kind != "vector" or suffix == "l1" else "0.5.0"
            out.append(Combo("hnsw", f"{kind}_{suffix}_ops", col, op, base))
            if suffix != "l1" and kind != "sparsevec":
                since = "0.1.0" if kind == "vector" else "0.7.0"
                out.append(Combo("ivfflat", f"{kind}_{suffix}_ops", col, op, since))
    out += [
        Combo("hnsw", "bit_hamming_ops", "b", "<~>", "0.7.0"),
        Combo("hnsw", "bit_jaccard_ops", "b", "<%>", "0.7.0"),
        Combo("ivfflat", "bit_hamming_ops", "b", "<~>", "0.7.0"),
    ]
    return out


@dataclass(frozen=True)
class Table:
    """The scratch table's columns as NumPy arrays (what PostgreSQL stores)."""

    values: dict[str, V.Array]
    category: V.Array
    types: dict[str, str]


def create_table(conn: psycopg.Connection[Any], version: str) -> Table:
    """The scratch schema and table (inside the caller's rolled-back transaction)."""
    rng = np.random.default_rng(11)
    modern = PgvectorVersion.parse(version) >= PgvectorVersion.parse("0.7.0")
    dense = V.dense(rng, ROWS, DIM)
    values = {"v": dense}
    types = {"v": f"vector({DIM})"}
    if modern:
        values |= {
            "h": V.as_half(dense),
            "s": V.sparse(rng, ROWS, DIM),
            "b": V.bits(rng, ROWS, BIT_DIM),
        }
        types |= {"h": f"halfvec({DIM})", "s": f"sparsevec({DIM})", "b": f"bit({BIT_DIM})"}
    category = np.arange(ROWS) % 10
    conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(SCHEMA)))
    cols = sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(t)) for c, t in types.items()
    )
    conn.execute(
        sql.SQL("CREATE TABLE {} (id int PRIMARY KEY, cat int NOT NULL, {})").format(
            sql.Identifier(SCHEMA, "t"), cols
        )
    )
    names = sql.SQL(", ").join(sql.Identifier(c) for c in types)
    copy_sql = sql.SQL("COPY {} (id, cat, {}) FROM STDIN").format(
        sql.Identifier(SCHEMA, "t"), names
    )
    dense_texts = [V.vector_text(r) for r in dense]
    with conn.cursor().copy(copy_sql) as copy:
        for i in range(ROWS):
            row = [str(i), str(int(category[i])), dense_texts[i]]
            if modern:
                row += [dense_texts[i], V.sparse_text(values["s"][i]), V.bit_text(values["b"][i])]
            copy.write("\t".join(row) + "\n")
    conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(SCHEMA, "t")))
    return Table(values, category.astype(np.float64), types)


def literal(column: str, row: V.Array, table: Table) -> sql.Composed:
    if column == "b":
        text = V.bit_text(row)
    elif column == "s":
        text = V.sparse_text(row)
    else:
        text = V.vector_text(row)
    return sql.SQL("{}::{}").format(sql.Literal(text), sql.SQL(table.types[column]))


def tie_recall(got: list[float], exact: V.Array, k: int) -> float:
    """Share of the true top-k found, a result tied with the k-th distance counting as found."""
    top = np.sort(exact)[:k]
    if len(top) == 0:
        return 1.0
    bound = float(top[-1]) + 1e-4 * max(1.0, abs(float(top[-1])))
    return min(len(top), sum(1 for d in got[: len(top)] if d <= bound)) / len(top)


def knn(
    conn: psycopg.Connection[Any], combo: Combo, q: sql.Composed, where: sql.Composable, k: int
) -> sql.Composed:
    dist = sql.SQL("{} " + combo.operator + " {}").format(sql.Identifier(combo.column), q)
    return sql.SQL("SELECT ({d})::float8 FROM {t} {w} ORDER BY {d} LIMIT {k}").format(
        d=dist, t=sql.Identifier(SCHEMA, "t"), w=where, k=sql.Literal(k)
    )


def uses_index(conn: psycopg.Connection[Any], query: sql.Composed, name: str) -> bool:
    row = conn.execute(sql.SQL("EXPLAIN (FORMAT JSON) {}").format(query)).fetchone()
    return row is not None and f'"{name}"' in json.dumps(row[0])


def _build(conn: psycopg.Connection[Any], combo: Combo, name: str) -> None:
    opts = (
        sql.SQL(" WITH (lists = {})").format(sql.Literal(LISTS))
        if combo.method == "ivfflat"
        else sql.SQL("")
    )
    conn.execute(
        sql.SQL("CREATE INDEX {n} ON {t} USING {m} ({c} {o}){w}").format(
            n=sql.Identifier(name), t=sql.Identifier(SCHEMA, "t"), m=sql.Identifier(combo.method),
            c=sql.Identifier(combo.column), o=sql.Identifier(combo.opclass), w=opts,
        )
    )  # fmt: skip


def check_combo(
    conn: psycopg.Connection[Any], table: Table, combo: Combo, min_recall: float
) -> Check:
    """Build, EXPLAIN and query one index; roll it back."""
    label = f"{combo.method} {combo.opclass}"
    name = f"stage_{combo.method}_{combo.opclass}"
    data = table.values[combo.column]
    try:
        with savepoint(conn):
            _build(conn, combo, name)
            for key, value in (("enable_seqscan", "off"), ("ivfflat.probes", str(LISTS)),
                               ("hnsw.ef_search", "100")):  # fmt: skip
                set_local(conn, key, value)
            recalls, used = [], True
            for row_no in range(0, ROWS, ROWS // QUERIES)[:QUERIES]:
                query = knn(conn, combo, literal(combo.column, data[row_no], table), sql.SQL(""), K)
                used = used and uses_index(conn, query, name)
                got = [float(r[0]) for r in conn.execute(query).fetchall()]
                exact = V.METRICS[combo.operator](
                    np.repeat(data[row_no : row_no + 1], ROWS, 0), data
                )
                recalls.append(tie_recall(got, exact, K))
    except psycopg.Error as exc:
        return Check(label, False, first_line(exc))
    recall = float(np.mean(recalls))
    detail = f"recall@{K} {recall:.3f} vs NumPy over {len(recalls)} queries"
    if not used:
        return Check(label, False, detail + "; EXPLAIN does not use the index")
    return Check(label, recall >= min_recall, detail + "; index used")


def run_index_builds(conn: psycopg.Connection[Any], version: str, min_recall: float) -> list[Check]:
    have = PgvectorVersion.parse(version)
    try:
        with savepoint(conn):
            table = create_table(conn, version)
            return [
                check_combo(conn, table, c, min_recall)
                for c in combos()
                if have >= PgvectorVersion.parse(c.since)
            ]
    except psycopg.Error as exc:
        return [Check("scratch table", False, first_line(exc))]


def run_iterative_scan(
    conn: psycopg.Connection[Any], version: str, min_recall: float
) -> list[Check]:
    """Filtered k-NN with iterative scans returns k rows (where a plain scan comes up short)."""
    try:
        with savepoint(conn):
            table = create_table(conn, version)
            return [
                _iterative(conn, table, Combo("hnsw", "vector_l2_ops", "v", "<->", "0.8.0"),
                           "hnsw.iterative_scan", mode, min_recall)
                for mode in ("strict_order", "relaxed_order")
            ] + [
                _iterative(conn, table, Combo("ivfflat", "vector_l2_ops", "v", "<->", "0.8.0"),
                           "ivfflat.iterative_scan", "relaxed_order", min_recall)
            ]  # fmt: skip
    except psycopg.Error as exc:
        return [Check("iterative scan setup", False, first_line(exc))]


def _iterative(
    conn: psycopg.Connection[Any],
    table: Table,
    combo: Combo,
    setting: str,
    mode: str,
    min_recall: float,
) -> Check:
    label = f"{setting} = {mode}"
    name = f"stage_iter_{combo.method}"
    data = table.values["v"]
    try:
        with savepoint(conn):
            _build(conn, combo, name)
            set_local(conn, "enable_seqscan", "off")
            set_local(conn, "hnsw.ef_search", "10")
            set_local(conn, "ivfflat.probes", "1")
            set_local(conn, setting, mode)
            where = sql.SQL("WHERE cat = 3")
            got = [
                float(r[0])
                for r in conn.execute(knn(conn, combo, literal("v", data[0], table), where, K))
            ]
            mask = table.category == 3
            exact = V.l2(np.repeat(data[0:1], int(mask.sum()), 0), data[mask])
    except psycopg.Error as exc:
        return Check(label, False, first_line(exc))
    recall = tie_recall(got, exact, K) if mode == "strict_order" else _set_recall(got, exact)
    # IVFFlat at probes=1 is approximate by design: only HNSW gets a recall bar here
    ok = len(got) == K and (combo.method == "ivfflat" or recall >= min_recall)
    return Check(label, ok, f"{len(got)} of {K} rows for a 10% filter; recall {recall:.2f}")


def _set_recall(got: list[float], exact: V.Array) -> float:
    """Relaxed order may return neighbours out of order: compare as sets of distances."""
    return tie_recall(sorted(got), exact, K)
