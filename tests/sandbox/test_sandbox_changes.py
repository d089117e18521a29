"""Package-style extension upgrades, PostgreSQL minor updates and replicas on real clusters."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import psycopg
import pytest

from vecpatch.errors import UsageError
from vecpatch.sandbox import Sandbox
from vecpatch.sandbox.testing import SandboxFactory

pytestmark = [pytest.mark.slow, pytest.mark.sandbox]

CHECKSUM = "SELECT count(*), md5(string_agg(embedding::text, ',' ORDER BY id)) FROM items"


def _vec(v: np.ndarray) -> str:
    return "[" + ",".join(f"{x:.5f}" for x in v.tolist()) + "]"


KNN = {
    "<->": "SELECT id FROM items ORDER BY embedding <-> %s::vector LIMIT 10",
    "<=>": "SELECT id FROM items ORDER BY embedding <=> %s::vector LIMIT 10",
}


def _top10(conn: psycopg.Connection[tuple[object, ...]], op: str, q: str, exact: bool) -> list[int]:
    with conn.transaction():
        if exact:
            conn.execute("SET LOCAL enable_indexscan = off")
        else:
            conn.execute("SET LOCAL enable_seqscan = off")
            conn.execute("SET LOCAL hnsw.ef_search = 400")
            conn.execute("SET LOCAL ivfflat.probes = 100")
        rows = conn.execute(KNN[op], (q,)).fetchall()
    return [int(str(r[0])) for r in rows]


def test_install_extension_then_update_keeps_index_results(
    fresh_sandbox: Callable[..., Sandbox],
) -> None:
    sb = fresh_sandbox("16.4", "0.7.4", sample=True, rows=2000)
    with sb.connect() as old_session:  # a backend that loaded the old library stays alive
        old_session.execute("SELECT '[1,2,3]'::vector")
        sb.install_extension("0.8.5")
        assert sb.pgvector_version == "0.8.5"
        with sb.connect() as conn:
            conn.execute("ALTER EXTENSION vector UPDATE")
            assert conn.execute(
                "SELECT extversion FROM pg_extension WHERE extname = 'vector'"
            ).fetchone() == ("0.8.5",)
            assert conn.execute(
                "SELECT default_version FROM pg_available_extensions WHERE name = 'vector'"
            ).fetchone() == ("0.8.5",)
            rng = np.random.default_rng(7)
            hits = total = 0
            for _ in range(5):
                q = _vec(rng.standard_normal(128).astype(np.float32))
                for op in ("<->", "<=>"):  # HNSW (l2) and IVFFlat (cosine)
                    exact = set(_top10(conn, op, q, exact=True))
                    hits += len(exact & set(_top10(conn, op, q, exact=False)))
                    total += 10
            assert hits / total >= 0.95
            conn.execute("SELECT id FROM items ORDER BY half <-> (SELECT half FROM items LIMIT 1)")


def test_cross_major_extension_is_refused(sandbox_factory: SandboxFactory) -> None:
    sb = sandbox_factory.get("16.14", "0.8.5")
    before = sb.extension_dirs.library.stat().st_ino
    with pytest.raises(UsageError, match=r"refusing .* PostgreSQL 18\.4 into .*major 16"):
        sb.install_extension("0.8.5", from_pg="18.4")
    assert sb.extension_dirs.library.stat().st_ino == before  # nothing was touched


def test_foreign_major_library_fails_to_load(fresh_sandbox: Callable[..., Sandbox]) -> None:
    sb = fresh_sandbox("16.4", "0.8.0")
    sb.install_extension("0.8.5", force_foreign_major=False)  # same major: fine
    build = sb.swap_vector_library("0.8.5", pg_major=18)
    assert build.pg_major == 18
    with pytest.raises(psycopg.Error, match="incompatible library"):
        sb.run_sql("CREATE EXTENSION vector")


def test_pg_minor_keeps_data_and_extension(fresh_sandbox: Callable[..., Sandbox]) -> None:
    sb = fresh_sandbox("16.4", "0.7.4", sample=True, rows=500)
    before = sb.run_sql(CHECKSUM)
    sb.pg_minor("16.14")
    [(version,)] = sb.run_sql("SELECT version()")
    assert version.startswith("PostgreSQL 16.14 ")
    assert sb.run_sql(CHECKSUM) == before
    assert sb.pgvector_version == "0.7.4"
    assert sb.run_sql("SELECT extversion FROM pg_extension WHERE extname = 'vector'") == [
        ("0.7.4",)
    ]
    with pytest.raises(UsageError, match="another major"):
        sb.pg_minor("18.4")


def test_replica_streams_from_primary(fresh_sandbox: Callable[..., Sandbox]) -> None:
    primary = fresh_sandbox("16.8", "0.8.0")
    primary.run_sql("CREATE TABLE t (id int)")
    primary.run_sql("INSERT INTO t SELECT generate_series(1, 100)")
    replica = primary.create_replica(primary.name + "-r")
    try:
        assert replica.meta.replica_of == primary.name
        assert replica.run_sql("SELECT pg_is_in_recovery()") == [(True,)]
        primary.run_sql("INSERT INTO t SELECT generate_series(101, 150)")
        deadline = time.monotonic() + 15
        while replica.run_sql("SELECT count(*) FROM t") != [(150,)]:
            assert time.monotonic() < deadline, "replica did not catch up"
            time.sleep(0.1)
    finally:
        replica.destroy()


def test_old_library_under_new_catalog_is_detectable(
    fresh_sandbox: Callable[..., Sandbox],
) -> None:
    sb = fresh_sandbox("16.2", "0.6.2")
    sb.run_sql("CREATE EXTENSION vector")
    sb.install_extension("0.8.5")
    sb.run_sql("ALTER EXTENSION vector UPDATE")
    sb.swap_vector_library("0.6.2")  # the package manager "rolled back" only the library
    with pytest.raises(psycopg.Error, match="could not find function"):
        sb.run_sql("SELECT '[1,2]'::halfvec")
