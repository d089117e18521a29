"""PostgreSQL specifics: schema matches, concurrent writers and dedup across connections."""

from __future__ import annotations

import threading

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from vecpatch.history import HistoryStore, ScanRecord
from vecpatch.history.engine import VERSION_TABLE
from vecpatch.history.schema import metadata

pytestmark = pytest.mark.slow


def test_schema_matches_and_types_are_native(pg15_database: str) -> None:
    with HistoryStore.open(pg15_database) as store, store.engine.connect() as conn:
        assert store.engine.dialect.driver == "psycopg"
        context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
        assert context.get_current_revision() == "0002"
        assert compare_metadata(context, metadata) == []
        kinds = dict(
            conn.exec_driver_sql(
                "SELECT column_name, data_type FROM information_schema.columns"
                " WHERE table_name = 'scan_results'"
            ).all()
        )
        assert kinds["facts"] == "jsonb"
        assert kinds["recorded_at"] == "timestamp with time zone"


def test_concurrent_open_and_writes(pg15_database: str) -> None:
    """Several stores open (and migrate) the same empty database at once, then race."""
    errors: list[BaseException] = []
    winners: list[bool] = []

    def work(worker: int) -> None:
        try:
            with HistoryStore.open(pg15_database) as store:
                for n in range(10):
                    run = store.start_run("scan")
                    store.record_scan_result(
                        ScanRecord(run_id=run, target=f"t{worker}", database=f"d{n}",
                                   reachable=True)
                    )  # fmt: skip
                    store.finish_run(run, "ok")
                winners.append(store.mark_notified("once"))
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(winners) == [False, False, False, True]
    with HistoryStore.open(pg15_database) as store:
        assert len(store.latest_scan_results()) == 40
