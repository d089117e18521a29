"""SQLite specifics: default location, concurrent writers, secrets on disk, packaging."""

from __future__ import annotations

import multiprocessing
import os
import threading
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from vecpatch.history import HistoryStore, ScanRecord, history_url
from vecpatch.history.engine import VERSION_TABLE
from vecpatch.history.schema import metadata

SENTINEL = "S3ntinel-pw-7f2c"
WRITERS, SCANS = 4, 25


def test_url_resolution(tmp_path: Path) -> None:
    env = {"VECPATCH_STATE": str(tmp_path)}
    assert history_url(None, {}).startswith("sqlite:///")
    assert history_url("postgresql://u@h/db", env) == "postgresql+psycopg://u@h/db"
    assert history_url("postgres://u@h/db", env) == "postgresql+psycopg://u@h/db"
    assert history_url(None, {"VECPATCH_HISTORY": "sqlite:////x/h.db"}) == "sqlite:////x/h.db"
    assert history_url(str(tmp_path / "h.db"), env) == f"sqlite:///{tmp_path / 'h.db'}"


def test_default_location_is_the_state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VECPATCH_STATE", str(tmp_path / "state"))
    with HistoryStore.open(None, environ={}) as store:
        store.start_run("scan")
    assert (tmp_path / "state" / "history.db").exists()


def test_migrations_ship_in_the_package_and_match_the_schema(tmp_path: Path) -> None:
    versions = files("vecpatch.history") / "migrations" / "versions"
    assert any(p.name.startswith("0001") for p in versions.iterdir())
    os.chdir(tmp_path)  # not found via the CWD
    with HistoryStore.open(str(tmp_path / "h.db")) as store, store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
        assert context.get_current_revision() == "0002"
        diffs = compare_metadata(context, metadata)
        assert diffs == []
        mode = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
        assert mode == "wal"


def _write_scans(url: str, worker: int) -> None:
    with HistoryStore.open(url) as store:
        for n in range(SCANS):
            run = store.start_run("scan")
            store.record_scan_result(
                ScanRecord(run_id=run, target=f"t{worker}", database=f"db{n}", reachable=True)
            )
            when = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=worker)
            store.record_first_seen("release", "0.8.2", when)
            store.mark_notified(f"key{n}")
            store.finish_run(run, "ok", {"n": n})


def _check(url: str) -> None:
    with HistoryStore.open(url) as store:
        assert len(store.runs(kind="scan")) == WRITERS * SCANS
        assert all(r.status == "ok" for r in store.runs())
        assert len(store.latest_scan_results()) == WRITERS * SCANS
        assert store.first_seen("release", "0.8.2") == datetime(2026, 1, 1, tzinfo=UTC)


def test_concurrent_processes_on_a_fresh_file(tmp_path: Path) -> None:
    """Four processes migrate and write the same new file at once without lock errors."""
    url = f"sqlite:///{tmp_path / 'h.db'}"
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_write_scans, args=(url, w)) for w in range(WRITERS)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=120)
    assert [p.exitcode for p in procs] == [0] * WRITERS
    _check(url)


def test_concurrent_threads(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'h.db'}"
    HistoryStore.open(url).close()
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            _write_scans(url, worker)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    _check(url)


def test_sentinel_password_never_reaches_the_file(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    with HistoryStore.open(str(path)) as store:
        store.add_secrets(SENTINEL)
        run = store.start_run("scan")
        store.record_scan_result(
            ScanRecord(run_id=run, target="a", database="postgres", reachable=False,
                       reason=f"FATAL: password authentication failed ({SENTINEL})",
                       facts={"dsn": f"postgresql://u:{SENTINEL}@h/db", "raw": SENTINEL})
        )  # fmt: skip
        store.finish_run(run, "failed", {"error": f"host=h password={SENTINEL}"})
    blobs = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("h.db"))
    assert b"postgresql://u:***@h/db" in blobs
    assert SENTINEL.encode() not in blobs
