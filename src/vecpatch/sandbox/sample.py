"""Realistic pgvector sample data for a sandbox, sized for tests and demos.

Data is seeded random (numpy) and loaded with COPY, then indexed: what a scan, a staging test
plan or a recall check should meet in a real database. Column types and index operator classes
follow what the installed pgvector version supports (halfvec/sparsevec and bit operators
arrived in 0.7.0).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import psycopg

from vecpatch.sandbox.builds import version_tuple

DIM = 128
SPARSE_DIM = 1000
SCHEMA = "vault"


@dataclass(frozen=True)
class SampleInfo:
    """What was loaded, so tests know which columns and indexes to expect."""

    rows: int
    tables: tuple[str, ...]
    indexes: tuple[str, ...]
    has_halfvec: bool


def _vec(values: list[float]) -> str:
    return "[" + ",".join(f"{v:.5f}" for v in values) + "]"


def _item_lines(rows: int, seed: int, modern: bool) -> Iterator[str]:
    rng = np.random.default_rng(seed)
    emb = rng.standard_normal((rows, DIM), dtype=np.float32).tolist()
    if not modern:
        for i, e in enumerate(emb, 1):
            yield f"{i}\t{i % 17}\t{_vec(e)}\n"
        return
    half = rng.random((rows, DIM), dtype=np.float32).tolist()
    bits = (rng.integers(0, 2, (rows, DIM), dtype=np.uint8) + ord("0")).tobytes().decode()
    for i, (e, h) in enumerate(zip(emb, half, strict=True), 1):
        idx = np.sort(rng.choice(SPARSE_DIM, size=8, replace=False)) + 1
        sparse = ",".join(
            f"{k}:{v:.4f}" for k, v in zip(idx.tolist(), rng.random(8).tolist(), strict=True)
        )
        bitrow = bits[(i - 1) * DIM : i * DIM]
        yield f"{i}\t{i % 17}\t{_vec(e)}\t{_vec(h)}\t{{{sparse}}}/{SPARSE_DIM}\t{bitrow}\n"


def load_sample(
    conn: psycopg.Connection[tuple[object, ...]], pgvector: str, rows: int = 10_000, seed: int = 42
) -> SampleInfo:
    """Create the extension, the sample tables and their vector indexes in one database."""
    modern = version_tuple(pgvector) >= (0, 7, 0)
    lists = max(1, min(100, rows // 1000))
    conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
    conn.execute("SET maintenance_work_mem = '128MB'")
    cols = f"id bigint PRIMARY KEY, category int NOT NULL, embedding vector({DIM})"
    if modern:
        cols += f", half halfvec({DIM}), sparse sparsevec({SPARSE_DIM}), bits bit({DIM})"
    conn.execute(f"CREATE TABLE items ({cols})")
    names = "id, category, embedding" + (", half, sparse, bits" if modern else "")
    with conn.cursor().copy(f"COPY items ({names}) FROM STDIN") as copy:
        for line in _item_lines(rows, seed, modern):
            copy.write(line)
    indexes = [
        "CREATE INDEX items_embedding_hnsw ON items USING hnsw (embedding vector_l2_ops)",
        "CREATE INDEX items_embedding_ivfflat ON items USING ivfflat (embedding vector_cosine_ops)"
        f" WITH (lists = {lists})",
    ]
    if modern:
        indexes += [
            "CREATE INDEX items_half_hnsw ON items USING hnsw (half halfvec_l2_ops)",
            "CREATE INDEX items_sparse_hnsw ON items USING hnsw (sparse sparsevec_l2_ops)",
            "CREATE INDEX items_bits_hnsw ON items USING hnsw (bits bit_hamming_ops)",
        ]
    _load_schema_table(conn, max(100, rows // 10), seed + 1)
    indexes.append(
        f"CREATE INDEX docs_embedding_hnsw ON {SCHEMA}.docs USING hnsw (embedding vector_ip_ops)"
    )
    for ddl in indexes:
        conn.execute(ddl)
    conn.execute("ANALYZE")
    index_names = tuple(ddl.split()[2] for ddl in indexes)
    return SampleInfo(rows, ("public.items", f"{SCHEMA}.docs"), index_names, modern)


def _load_schema_table(conn: psycopg.Connection[tuple[object, ...]], rows: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    conn.execute(f"CREATE SCHEMA {SCHEMA}")
    conn.execute(
        f"CREATE TABLE {SCHEMA}.docs (id int PRIMARY KEY, title text, embedding vector(32))"
    )
    with conn.cursor().copy(f"COPY {SCHEMA}.docs (id, title, embedding) FROM STDIN") as copy:
        for i, e in enumerate(rng.standard_normal((rows, 32), dtype=np.float32).tolist(), 1):
            copy.write(f"{i}\tdoc {i}\t{_vec(e)}\n")
