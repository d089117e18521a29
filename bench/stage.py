"""Benchmark: the default staging plan on a 100k x 128-dim table with an HNSW index (not a test).

One PG 16.4 / pgvector 0.7.4 sandbox holding ``items(id, embedding vector(128))`` with
100,000 clustered rows and an HNSW index (``vector_l2_ops``, default m/ef_construction);
setting it up is timed separately. ``vecpatch stage`` then runs the whole default plan
to 0.8.5: baseline (functionality suite, user queries, recall@10 / latency over 50
sampled queries, index build on a 10k-row copy), backup, package step, apply's checked
update, the same measurements after, schema parity, and the rollback drill (old package
back, pg_restore, which rebuilds the 100k HNSW index). Goal: <= 120 s on 2 cores.

    .venv/bin/python bench/stage.py [--rows 100000] [--dim 128] [--no-rollback-drill]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

QUERIES = """\
-- name: nearest-to-42
SELECT id FROM items ORDER BY embedding <-> (SELECT embedding FROM items WHERE id = 42) LIMIT 10;
-- name: count
SELECT count(*) FROM items;
"""


def _lines(rows: int, dim: int) -> Iterator[str]:
    """Clustered embeddings (1,000 centres + noise), like real ones; uniform random data in
    128 dimensions is a worst case no ANN index is tuned for."""
    rng = np.random.default_rng(42)
    centres = rng.standard_normal((1000, dim)).astype(np.float32)
    for start in range(0, rows, 10_000):
        n = min(10_000, rows - start)
        block = centres[rng.integers(0, 1000, n)] + 0.3 * rng.standard_normal((n, dim))
        for i, row in enumerate(block.astype(np.float32).tolist(), start + 1):
            yield f"{i}\t[{','.join(f'{v:.4f}' for v in row)}]\n"


def _setup(rows: int, dim: int) -> object:
    from psycopg import sql

    from vecpatch.sandbox import Sandbox

    sb = Sandbox.create(f"bench-stage-{os.getpid()}", "16.4", "0.7.4")
    with sb.connect() as conn:
        conn.execute("CREATE EXTENSION vector")
        conn.execute(sql.SQL("CREATE TABLE items (id bigint PRIMARY KEY, embedding vector({}))")
                     .format(sql.Literal(dim)))  # fmt: skip
        with conn.cursor().copy("COPY items (id, embedding) FROM STDIN") as copy:
            for line in _lines(rows, dim):
                copy.write(line)
        conn.execute("SET maintenance_work_mem = '512MB'")
        conn.execute(
            "CREATE INDEX items_embedding_hnsw ON items USING hnsw (embedding vector_l2_ops)"
        )
        conn.execute("VACUUM ANALYZE items")
    return sb


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--no-rollback-drill", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="vecpatch-bench-stage-"))
    work.chmod(0o711)
    os.environ.setdefault("VECPATCH_STATE", str(work / "state"))
    folder = work / "sandboxes"
    folder.mkdir()
    folder.chmod(0o711)  # the unprivileged server user must traverse it when we are root
    os.environ["VECPATCH_SANDBOX_DIR"] = str(folder)

    from vecpatch.catalog.store import load_catalog
    from vecpatch.history.store import HistoryStore
    from vecpatch.plan import PlanPolicy, Policy
    from vecpatch.stage import StageOptions, from_sandbox, run_stage

    t0 = time.perf_counter()
    sb = _setup(args.rows, args.dim)
    print(f"setup: {args.rows} x {args.dim} rows + HNSW index in {time.perf_counter() - t0:.1f} s")
    queries = work / "queries.sql"
    queries.write_text(QUERIES)
    try:
        opts = StageOptions(
            policy=PlanPolicy(Policy.PINNED, "0.8.5"),
            queries_file=queries,
            rollback_drill=not args.no_rollback_drill,
        )
        with HistoryStore.open(str(work / "history.db")) as store:
            staging = from_sandbox(sb, "bench", "postgres")  # type: ignore[arg-type]
            report = run_stage(staging, opts, load_catalog(), store)
    finally:
        sb.destroy()  # type: ignore[attr-defined]
        shutil.rmtree(work, ignore_errors=True)  # the drill's backup, history, state
    print(f"vecpatch stage 0.7.4 -> 0.8.5: {report.verdict.value}, {len(report.cases)} cases, "
          f"{report.duration:.1f} s (goal <= 120 s)")  # fmt: skip
    for key, seconds in sorted(report.timings.items(), key=lambda kv: -kv[1]):
        print(f"  {key:<15} {seconds:7.2f} s")
    for case in report.cases:
        if case.failed or case.id.startswith("performance."):
            print(f"  {case.verdict.value:<5} {case.id}: {case.why}")
    return int(report.exit_code)


if __name__ == "__main__":
    sys.exit(main())
