"""Performance of every vector index on the user's tables, measured the user's way.

Recall@k against exact search (``SET LOCAL enable_indexscan = off``) over M queries
sampled from the table's own rows; latency p50/p95/p99 and QPS at the *current*
``hnsw.ef_search``/``ivfflat.probes`` — each session is new so database- and role-level
``ALTER ... SET`` defaults apply exactly as they do for the application (we never set
them); and the build time of the same index on a copy of up to N rows.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import psycopg
from psycopg import sql

from vecpatch.apply.session import Endpoint
from vecpatch.apply.smoke import operator_for
from vecpatch.pgerrors import first_line
from vecpatch.probe.facts import VectorIndex
from vecpatch.stage import stats
from vecpatch.stage.db import scalar, scratch, set_local
from vecpatch.stage.indexes import tie_recall

SAMPLE_SEED = 0.4242
PASSES = 3
CONTROL = sql.SQL("SELECT sum(i) FROM generate_series(1, 20000) i")
"""Work the update cannot change (no pgvector code): it slows down only when the machine does."""


@dataclass
class IndexMeasure:
    """One index in one phase."""

    label: str
    recalls: list[float] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    control_ms: list[float] = field(default_factory=list)
    """A fixed CPU-bound statement timed right after each query: the machine's own load."""
    qps: float = 0.0
    build_seconds: float | None = None
    build_rows: int = 0
    index_used: bool = True
    settings: dict[str, str | None] = field(default_factory=dict)
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        pct = stats.percentiles(self.latencies_ms)
        return {
            "recall": round(sum(self.recalls) / len(self.recalls), 4) if self.recalls else None,
            "queries": len(self.recalls),
            "latency_ms": {k: round(v, 3) for k, v in pct.items()},
            "control_ms": round(stats.median(self.control_ms), 3),
            "qps": round(self.qps, 1),
            "build_seconds": round(self.build_seconds, 3) if self.build_seconds else None,
            "build_rows": self.build_rows,
            "index_used": self.index_used,
            "settings": self.settings,
            "error": self.error,
        }


def label(idx: VectorIndex) -> str:
    return f"{idx.schema}.{idx.name}"


def measurable(idx: VectorIndex) -> str | None:
    """Why an index cannot be measured here (None: it can)."""
    if not idx.valid:
        return "index is invalid"
    if not idx.columns or idx.columns[0] is None:
        return "expression index"
    if not idx.opclasses or operator_for(idx.opclasses[0]) is None:
        return "unknown operator class"
    if " WHERE " in idx.definition.upper():
        return "partial index"
    return None


def sample_queries(endpoint: Endpoint, idx: VectorIndex, m: int) -> list[str]:
    """M query vectors drawn (repeatably) from the table's own rows."""
    col, table = sql.Identifier(str(idx.columns[0])), sql.Identifier(idx.schema, idx.table)
    with scratch(endpoint, read_only=True) as conn:
        conn.execute(sql.SQL("SELECT setseed({})").format(sql.Literal(SAMPLE_SEED)))
        rows = conn.execute(
            sql.SQL("SELECT {c}::text FROM {t} WHERE {c} IS NOT NULL ORDER BY random() LIMIT {m}")
            .format(c=col, t=table, m=sql.Literal(m))
        ).fetchall()  # fmt: skip
    return [str(r[0]) for r in rows]


def _ctype(conn: psycopg.Connection[Any], idx: VectorIndex) -> str:
    value = scalar(
        conn,
        sql.SQL(
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attrelid = {}::regclass AND attname = {}"
        ).format(
            sql.Literal(sql.Identifier(idx.schema, idx.table).as_string(conn)),
            sql.Literal(idx.columns[0]),
        ),
    )
    return str(value)


def measure(
    endpoint: Endpoint, idx: VectorIndex, queries: list[str], k: int, build_rows: int
) -> IndexMeasure:
    """Recall, latency and QPS at the database's own settings, then the build on a copy."""
    out = IndexMeasure(label(idx))
    if not queries:
        out.error = "no rows to sample queries from"
        return out
    try:
        _search(endpoint, idx, queries, k, out)
        if build_rows > 0:
            _build_copy(endpoint, idx, build_rows, out)
    except psycopg.Error as exc:
        out.error = endpoint.clean(first_line(exc))
    return out


def _knn(idx: VectorIndex, ctype: str, q: str, k: int) -> sql.Composed:
    op = str(operator_for(idx.opclasses[0]))
    dist = sql.SQL("{} " + op + " {}::{}").format(
        sql.Identifier(str(idx.columns[0])), sql.Literal(q), sql.SQL(ctype)
    )
    return sql.SQL("SELECT ({d})::float8 FROM {t} ORDER BY {d} LIMIT {k}").format(
        d=dist, t=sql.Identifier(idx.schema, idx.table), k=sql.Literal(k)
    )


def _search(
    endpoint: Endpoint, idx: VectorIndex, queries: list[str], k: int, out: IndexMeasure
) -> None:
    with scratch(endpoint, read_only=True) as conn:
        ctype = _ctype(conn, idx)
        set_local(conn, "enable_seqscan", "off")  # measure the index; search knobs untouched
        knn = [_knn(idx, ctype, q, k) for q in queries]
        plan = conn.execute(sql.SQL("EXPLAIN (FORMAT JSON) {}").format(knn[0])).fetchone()
        out.index_used = plan is not None and f'"{idx.name}"' in json.dumps(plan[0])
        for name in ("hnsw.ef_search", "ivfflat.probes", "hnsw.iterative_scan"):
            value = scalar(
                conn, sql.SQL("SELECT current_setting({}, true)").format(sql.Literal(name))
            )
            out.settings[name] = None if value is None else str(value)
        approx = [[float(r[0]) for r in conn.execute(q).fetchall()] for q in knn]  # warm-up
        passes = [_timed(conn, knn) for _ in range(PASSES)]
        # Each query keeps its fastest of PASSES timings, in every phase alike: a slowdown the
        # update caused shows in all of them, a burst of contention on the machine rarely does.
        out.latencies_ms = [min(t) for t in zip(*passes, strict=True)]
        controls = [_timed(conn, [CONTROL] * len(knn)) for _ in range(PASSES)]
        out.control_ms = [min(t) for t in zip(*controls, strict=True)]
        total = min(sum(p) for p in passes) / 1000.0
        out.qps = len(knn) / total if total > 0 else 0.0
        set_local(conn, "enable_seqscan", "on")
        set_local(conn, "enable_indexscan", "off")
        set_local(conn, "enable_indexonlyscan", "off")
        set_local(conn, "enable_bitmapscan", "off")
        for got, q in zip(approx, knn, strict=True):
            exact = [float(r[0]) for r in conn.execute(q).fetchall()]
            out.recalls.append(tie_recall(got, np.asarray(exact, dtype=np.float64), k))


def _timed(conn: psycopg.Connection[Any], knn: list[sql.Composed] | list[sql.SQL]) -> list[float]:
    """Milliseconds per query, in order."""
    out: list[float] = []
    for q in knn:
        t0 = time.perf_counter()
        conn.execute(q).fetchall()
        out.append((time.perf_counter() - t0) * 1000.0)
    return out


def _build_copy(endpoint: Endpoint, idx: VectorIndex, rows: int, out: IndexMeasure) -> None:
    col = sql.Identifier(str(idx.columns[0]))
    options = [o.partition("=") for o in idx.options]
    with_: sql.Composable = sql.SQL("")
    if options:
        with_ = sql.SQL(" WITH ({})").format(
            sql.SQL(", ").join(sql.SQL("{} = {}").format(sql.Identifier(k), sql.Literal(v))
                               for k, _, v in options)
        )  # fmt: skip
    with scratch(endpoint) as conn:
        conn.execute(
            sql.SQL("CREATE TEMP TABLE vecpatch_stage_copy ON COMMIT DROP AS "
                    "SELECT {c} FROM {t} WHERE {c} IS NOT NULL LIMIT {n}")
            .format(c=col, t=sql.Identifier(idx.schema, idx.table), n=sql.Literal(rows))
        )  # fmt: skip
        out.build_rows = int(scalar(conn, sql.SQL("SELECT count(*) FROM vecpatch_stage_copy")))
        t0 = time.perf_counter()
        conn.execute(
            sql.SQL("CREATE INDEX ON vecpatch_stage_copy USING {m} ({c} {o}){w}").format(
                m=sql.Identifier(idx.method), c=col, o=sql.Identifier(idx.opclasses[0]), w=with_
            )
        )
        out.build_seconds = time.perf_counter() - t0
