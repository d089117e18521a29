"""A busy table: 55P03 inside the checks is retried and the give-up names the blocker; a dump
that fails leaves nothing behind (real server, database unchanged throughout)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from vecpatch.apply import BackupKind, Outcome
from vecpatch.apply.model import Check
from vecpatch.sandbox import Sandbox
from vecpatch.sandbox.testing import SandboxFactory

from ..apply.helpers import apply_cli, apply_lib, doc
from .helpers import db_state

pytestmark = [pytest.mark.slow, pytest.mark.sandbox]


@pytest.fixture(scope="module")
def busy(sandbox_factory: SandboxFactory) -> Iterator[Sandbox]:
    """0.7.4 installed, 0.8.5 on disk, plus a plain table to lock."""
    sb = sandbox_factory.fresh("16.4", "0.7.4", sample=True, rows=200)
    sb.run_sql("CREATE TABLE plain55 (id int)")
    sb.install_extension("0.8.5")
    yield sb
    sandbox_factory.discard(sb)


def _holder(sb: Sandbox, table: str) -> psycopg.Connection[tuple[object, ...]]:
    conn = psycopg.connect(sb.socket_dsn() + "&application_name=blocker")
    conn.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")  # held: the transaction stays open
    return conn


def _reads_plain55(conn: psycopg.Connection[Any]) -> Check:
    """A check inside the update's transaction that needs a table another session locked."""
    conn.execute("SELECT count(*) FROM plain55")
    return Check("plain55 readable", True)


def test_a_lock_timeout_in_the_checks_is_retried_and_names_the_blocker(busy: Sandbox) -> None:
    before = db_state(busy)
    holder = _holder(busy, "plain55")  # the probe reads only vector tables: it passes
    try:
        result = apply_lib(
            busy, to="0.8.5", backup=BackupKind.NONE, i_have_a_backup=True,
            lock_timeout=0.3, retry_budget=1.5, extra_checks=(_reads_plain55,),
        )  # fmt: skip
        pid = holder.info.backend_pid
    finally:
        holder.close()
    [db] = result.databases
    assert result.outcome is Outcome.FAILED, db.reasons
    reasons = " ".join(db.reasons)
    assert "gave up after" in reasons and "attempt(s)" in reasons
    assert "lock timeout" in reasons and "AccessShareLock on plain55" in reasons
    assert f"session {pid} (user postgres, application blocker, idle in transaction" in reasons
    assert sum(line.startswith("-- attempt") for line in db.sql) >= 1  # retried, not "broken"
    assert "unchanged at 0.7.4" in reasons
    assert db_state(busy) == before


def test_a_failed_dump_leaves_no_backup_folder(busy: Sandbox, tmp_path: Path) -> None:
    before = db_state(busy)
    holder = _holder(busy, "plain55")
    try:
        result = apply_cli(busy, tmp_path, "--to", "0.8.5", "--retry-budget", "1s")
    finally:
        holder.close()
    assert result.exit_code == 1, result.stdout
    [db] = doc(result)["databases"]
    assert "backup failed, nothing changed (no backup kept)" in " ".join(db["reasons"])
    assert not list((tmp_path / "backups").rglob("*")), list((tmp_path / "backups").rglob("*"))
    assert db_state(busy) == before
