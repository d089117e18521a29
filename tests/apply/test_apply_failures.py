"""Applies that must fail cleanly (database exactly as before), a concurrent apply, stale
sessions, and rollback from a pg_dump backup."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from vecpatch.apply import BackupKind, Outcome
from vecpatch.apply.lock import LOCK_CLASS
from vecpatch.apply.model import Check
from vecpatch.sandbox import Sandbox
from vecpatch.sandbox.server import postmaster_pid
from vecpatch.sandbox.testing import SandboxFactory

from .helpers import apply_cli, apply_lib, cli, doc, extversion, fingerprint

pytestmark = [pytest.mark.slow, pytest.mark.sandbox]


@pytest.fixture(scope="module")
def swapped(sandbox_factory: SandboxFactory) -> Iterator[Sandbox]:
    """PG 16.4 with pgvector 0.7.4 in the catalog and 0.8.5 on disk; every test here must
    leave it that way."""
    sb = sandbox_factory.fresh("16.4", "0.7.4", sample=True, rows=600)
    sb.install_extension("0.8.5")
    yield sb
    sandbox_factory.discard(sb)


def _kill(sb: Sandbox) -> Callable[[int], None]:
    def before_commit(pid: int) -> None:
        sb.run_sql("SELECT pg_terminate_backend(%s, 5000)", [pid])

    return before_commit


def _crash(sb: Sandbox) -> Callable[[int], None]:
    def before_commit(_pid: int) -> None:
        pid = postmaster_pid(sb.data_dir)
        assert pid is not None
        os.kill(pid, signal.SIGQUIT)  # immediate shutdown
        for _ in range(100):
            if not sb.is_running():
                return
            time.sleep(0.1)

    return before_commit


@pytest.mark.parametrize("mode", ["failing-check", "backend-killed", "server-stopped"])
def test_failure_leaves_the_database_as_before(swapped: Sandbox, mode: str) -> None:
    before = fingerprint(swapped)
    options: dict[str, object] = {"to": "0.8.5", "backup": BackupKind.NONE}
    options["i_have_a_backup"] = True
    if mode == "failing-check":
        options["extra_checks"] = (lambda _conn: Check("injected", False, "made to fail"),)
    elif mode == "backend-killed":
        options["before_commit"] = _kill(swapped)
    else:
        options["before_commit"] = _crash(swapped)
    result = apply_lib(swapped, **options)
    if mode == "server-stopped":
        swapped.start()
    assert result.outcome is Outcome.FAILED, [d.reasons for d in result.databases]
    assert int(result.exit_code) == 1
    [db] = result.databases
    assert "unchanged" in " ".join(db.reasons)
    assert "ROLLBACK" in db.sql and "COMMIT" not in db.sql
    assert extversion(swapped) == "0.7.4"
    assert fingerprint(swapped) == before


def test_concurrent_apply_is_refused(swapped: Sandbox, tmp_path: Path) -> None:
    oid = swapped.run_sql("SELECT oid FROM pg_database WHERE datname = 'postgres'")[0][0]
    conninfo = swapped.socket_dsn() + "&application_name=vecpatch%20apply%20other-run"
    with psycopg.connect(conninfo, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s, %s)", [LOCK_CLASS, oid])
        result = apply_cli(swapped, tmp_path, "--to", "0.8.5")
    assert result.exit_code == 1, result.stdout
    reasons = " ".join(doc(result)["databases"][0]["reasons"])
    assert "in progress since" in reasons and "vecpatch apply other-run" in reasons
    assert extversion(swapped) == "0.7.4"


def test_stale_session_reported_and_reconnected(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    sb = sandbox_factory.fresh("16.4", "0.7.4", sample=True, rows=400)
    old = psycopg.connect(sb.socket_dsn() + "&application_name=long-lived", autocommit=True)
    old.execute(
        "SELECT id FROM items ORDER BY embedding <-> (SELECT embedding FROM items LIMIT 1) LIMIT 3"
    )
    old_pid = old.info.backend_pid
    sb.install_extension("0.8.5")
    result = apply_cli(sb, tmp_path, "--to", "0.8.5", "--reconnect-stale", "--soak", "1")
    assert result.exit_code == 0, result.stdout + result.stderr
    [db] = doc(result)["databases"]
    assert [s["pid"] for s in db["stale_sessions"]] == [old_pid]
    assert any(c["name"] == "reconnect stale sessions" and c["ok"] for c in db["checks"])
    assert db["soak"]["seconds"] == 1.0 and "rollbacks" in db["soak"]
    with pytest.raises(psycopg.OperationalError):
        old.execute("SELECT 1")
    old.close()
    assert not sb.run_sql("SELECT pid FROM pg_stat_activity WHERE pid = %s", [old_pid])


def test_rollback_checks_first_then_restores_the_pg_dump_backup(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    sb = sandbox_factory.fresh("16.4", "0.7.4", sample=True, rows=400)
    # The extension's owner is another superuser: the restore must keep it.
    sb.run_sql("CREATE ROLE vecadmin SUPERUSER")
    sb.run_sql("UPDATE pg_extension SET extowner = 'vecadmin'::regrole WHERE extname = 'vector'")
    before = fingerprint(sb)
    sb.install_extension("0.8.5")
    applied = apply_cli(sb, tmp_path, "--to", "0.8.5")
    assert applied.exit_code == 0, applied.stdout + applied.stderr
    run_id = doc(applied)["run_id"]
    [db] = doc(applied)["databases"]
    assert db["backup"]["consistent_with_row_counts"] is True  # counted in pg_dump's snapshot
    history = f"sqlite:///{tmp_path / 'history.db'}"
    rollback = ("rollback", run_id, sb.dsn(), "--yes", "--history", history, "--format", "json")
    # Only 0.8.5 is on disk: restoring would bring back 0.8.5 over the data. Refused, unchanged.
    no_package = cli(*rollback)
    assert no_package.exit_code == 1, no_package.stdout
    [refused] = doc(no_package)["databases"]
    assert refused["outcome"] == "refused"
    assert "install the pgvector 0.7.4 package" in " ".join(refused["notes"])
    assert extversion(sb) == "0.8.5" and fingerprint(sb) == before
    # pgvector ships only its current install script: reinstall the old package first,
    # as an operator would, so the restored catalog finds vector--0.7.4.sql.
    sb.install_extension("0.7.4")
    sb.run_sql("DELETE FROM items WHERE id <= 50")
    after_writes = fingerprint(sb)
    newer = cli(*rollback)
    assert newer.exit_code == 1, newer.stdout
    [refused] = doc(newer)["databases"]
    assert "written since the backup" in " ".join(refused["notes"])
    assert "public.items: 50 row(s) inserted, updated or deleted" in " ".join(refused["notes"])
    assert fingerprint(sb) == after_writes and extversion(sb) == "0.8.5"
    result = cli(*rollback, "--discard-newer-writes")
    assert result.exit_code == 0, result.stdout + result.stderr
    [restored] = doc(result)["databases"]
    assert "public.items: 50 row(s) inserted, updated or deleted" in restored["discarded"][
        "public.items"
    ]
    assert extversion(sb) == "0.7.4"
    assert fingerprint(sb) == before
    owner = "SELECT extowner::regrole::text FROM pg_extension WHERE extname = 'vector'"
    assert sb.run_sql(owner) == [("vecadmin",)]
