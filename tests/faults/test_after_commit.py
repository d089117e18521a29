"""After COMMIT nothing crashes the story; a plan cannot go stale; a failed soak fails;
stale sessions of a finished run can be recycled on their own (real servers)."""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest

from vecpatch.apply import ApplyOptions, BackupKind, Outcome
from vecpatch.catalog.store import load_catalog
from vecpatch.history.store import HistoryStore
from vecpatch.sandbox import Sandbox
from vecpatch.sandbox.testing import SandboxFactory
from vecpatch.targets import targets_from_args
from vecpatch.usecases.apply import run_apply

from ..apply.helpers import QuietUi
from .helpers import apply_process, db_state, history_run, vecpatch_process

pytestmark = [pytest.mark.slow, pytest.mark.sandbox]


def _swapped(factory: SandboxFactory) -> Sandbox:
    sb = factory.fresh("16.4", "0.7.4", sample=True, rows=300)
    sb.install_extension("0.8.5")
    return sb


class HeldUi(QuietUi):
    """Confirms, but only once told to: an operator who left the prompt open."""

    def __init__(self) -> None:
        self.asked = threading.Event()
        self.go = threading.Event()

    def confirm(self, target: str, summary: str) -> bool:
        self.asked.set()
        return self.go.wait(60)


def test_an_apply_held_at_the_prompt_keeps_the_database_to_itself(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    sb = _swapped(sandbox_factory)
    targets = list(targets_from_args([sb.dsn()]))
    catalog = load_catalog(offline=True)
    opts = ApplyOptions(to="0.8.5", soak=0, pg_bin=sb.bin_dir, backup_dir=tmp_path / "b")
    opts = replace(opts, evidence_dir=tmp_path / "e")
    ui = HeldUi()
    with (
        HistoryStore.open(f"sqlite:///{tmp_path / 'first.db'}") as first_store,
        HistoryStore.open(f"sqlite:///{tmp_path / 'second.db'}") as second_store,
    ):
        held: list[object] = []
        thread = threading.Thread(
            target=lambda: held.append(run_apply(targets, opts, catalog, first_store, ui))
        )
        thread.start()
        assert ui.asked.wait(60)
        second = run_apply(targets, replace(opts, yes=True), catalog, second_store, QuietUi())
        ui.go.set()
        thread.join(120)
        [first] = held
        assert second.outcome is Outcome.REFUSED, second.databases[0].reasons
        assert "in progress since" in " ".join(second.databases[0].reasons)
        assert [s.step for s in second_store.apply_steps(second.run_id)] == ["process"]
        assert first.outcome is Outcome.APPLIED  # type: ignore[attr-defined]
        updates = [s for s in first_store.apply_steps(first.run_id) if s.step == "update"]  # type: ignore[attr-defined]
        assert [u.outcome for u in updates] == ["ok"]
    assert db_state(sb)[0] == "0.8.5"
    sandbox_factory.discard(sb)


def test_an_evidence_failure_after_commit_is_exit_4_recorded_and_recyclable(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    sb = _swapped(sandbox_factory)
    old = psycopg.connect(sb.socket_dsn() + "&application_name=long-lived", autocommit=True)
    old.execute("SELECT embedding <-> embedding FROM items LIMIT 1")
    (tmp_path / "full").write_text("not a folder")  # writing under it fails like a full disk
    run = apply_process(sb, tmp_path, "--soak", "0", "--evidence-dir", str(tmp_path / "full"))
    assert run.code == 4, run.stdout + run.stderr
    doc = run.doc()
    fallback = Path(tempfile.gettempdir()) / "vecpatch-evidence" / doc["run_id"]
    try:
        assert doc["evidence_dir"] == str(fallback)
        assert (fallback / "evidence.json").is_file()
        assert not [p for p in fallback.iterdir() if p.name.endswith(".tmp")]
        assert any("evidence could not be written to" in n for n in doc["notes"])
        assert f"run {doc['run_id']}: post-commit-failed" in run.stderr
        assert "database updated to 0.8.5" in run.stderr
        status, _steps = history_run(tmp_path, doc["run_id"])
        assert status == "post-commit-failed"
        [db] = doc["databases"]
        assert any(f"--recycle-stale {doc['run_id']}" in s for s in db["next_steps"])
        again = vecpatch_process(
            tmp_path, "apply", "--recycle-stale", doc["run_id"], sb.dsn(), "--format", "json"
        )
        assert again.code == 0, again.stdout + again.stderr
        [recycled] = again.doc()["databases"]
        assert recycled["found"] == 1 and recycled["remaining"] == 0
        with pytest.raises(psycopg.OperationalError):
            old.execute("SELECT 1")
    finally:
        old.close()
        shutil.rmtree(fallback, ignore_errors=True)
        sandbox_factory.discard(sb)


def _end_the_soak(sb: Sandbox, done: threading.Event) -> None:
    """Once the soak's session waits, end it: the soak cannot look, so it must not pass."""
    query = (
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE "
        "'vecpatch apply %' AND query LIKE '%pg_stat_database%' AND state = 'idle'"
    )
    deadline = time.monotonic() + 60
    while not done.is_set() and time.monotonic() < deadline:
        if sb.run_sql(query):
            return
        time.sleep(0.1)


def test_a_soak_that_cannot_look_is_a_failed_step(sandbox_factory: SandboxFactory) -> None:
    sb = _swapped(sandbox_factory)
    done = threading.Event()
    killer = threading.Thread(target=_end_the_soak, args=(sb, done))
    killer.start()
    try:
        opts = ApplyOptions(yes=True, to="0.8.5", soak=3.0, pg_bin=sb.bin_dir)
        opts = replace(opts, backup=BackupKind.NONE, i_have_a_backup=True)
        targets = list(targets_from_args([sb.dsn()]))
        result = run_apply(targets, opts, load_catalog(offline=True), None, QuietUi())
    finally:
        done.set()
        killer.join()
    [db] = result.databases
    assert result.outcome is Outcome.POST_COMMIT_FAILED, db.reasons
    assert ("soak", "failed") in [(s.name, s.outcome) for s in db.steps]
    assert db.soak is not None and db.soak["ok"] is False and db.soak.get("error")
    sandbox_factory.discard(sb)
