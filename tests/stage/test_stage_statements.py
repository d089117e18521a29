"""The regression source without a queries file: pg_stat_statements on a real server."""

from __future__ import annotations

import psycopg
import pytest

from tests.pg15 import PG_BIN, scratch_database
from vecpatch.stage.queries import top_statements

pytestmark = pytest.mark.skipif(
    not (PG_BIN.parent / "lib" / "pg_stat_statements.so").exists(),
    reason="pg_stat_statements is not installed with these binaries",
)


def test_top_statements_are_the_databases_own_reads_with_values_bound(pg15_url: str) -> None:
    with (
        scratch_database(pg15_url, "stmts") as url,
        psycopg.connect(url, autocommit=True) as conn,
    ):
        found, note = top_statements(conn, 5)
        assert found == [] and "not installed" in note
        conn.execute("CREATE EXTENSION pg_stat_statements")
        conn.execute("CREATE TABLE items (id int PRIMARY KEY, note text)")
        conn.execute("INSERT INTO items SELECT i, 'n' || i FROM generate_series(1, 100) i")
        for _ in range(3):
            conn.execute("SELECT count(*) FROM items")  # no constants: kept verbatim
            conn.execute("SELECT id FROM items WHERE id > 90")  # normalised to $1: bound
            conn.execute("SELECT note FROM items ORDER BY id LIMIT 3")  # LIMIT $1: bound
            conn.execute("SELECT 2 + 3")  # $1 + $2: compared with no column
            conn.execute("WITH t AS (SELECT max(id) AS m FROM items) SELECT m FROM t")
        found, note = top_statements(conn, 10)
    texts = {q.sql for q in found}
    assert "SELECT count(*) FROM items" in texts
    assert "WITH t AS (SELECT max(id) AS m FROM items) SELECT m FROM t" in texts
    assert "SELECT note FROM items ORDER BY id LIMIT 10" in texts
    [gt] = [t for t in texts if t.startswith("SELECT id FROM items WHERE id > ")]
    assert gt.endswith("'::integer") and 1 <= int(gt.split("'")[1]) <= 100
    assert not any("$" in t or "INSERT" in t or "pg_stat_statements" in t for t in texts)
    assert all(not q.knn for q in found)
    assert note.startswith(f"top {len(found)} queries from pg_stat_statements (2 with ")
    unbound = "1 could not be bound: 'SELECT $1 + $2' (cannot prepare it here: operator is not"
    assert unbound in note
