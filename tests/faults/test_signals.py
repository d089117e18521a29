"""SIGINT/SIGTERM/SIGKILL at each phase of a real ``vecpatch apply``: the recorded run and
the exit code say exactly what state the database is in."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from vecpatch.history.store import HistoryStore
from vecpatch.sandbox import Sandbox
from vecpatch.sandbox.testing import SandboxFactory
from vecpatch.web.runs import run_detail

from .helpers import apply_process, db_state, history_run

pytestmark = [pytest.mark.slow, pytest.mark.sandbox]


@pytest.fixture(scope="module")
def swapped(sandbox_factory: SandboxFactory) -> Iterator[Sandbox]:
    """PG 16.4, pgvector 0.7.4 installed and 0.8.5 on disk; every test leaves it so."""
    sb = sandbox_factory.fresh("16.4", "0.7.4", sample=True, rows=300)
    sb.install_extension("0.8.5")
    yield sb
    sandbox_factory.discard(sb)


@pytest.mark.parametrize(
    ("phase", "send"),
    [
        ("probe", signal.SIGINT),
        ("backup", signal.SIGINT),
        ("update", signal.SIGINT),
        ("checks", signal.SIGINT),
        ("update", signal.SIGTERM),
    ],
)
def test_a_stop_before_commit_rolls_back_and_says_unchanged(
    swapped: Sandbox, tmp_path: Path, phase: str, send: signal.Signals
) -> None:
    before = db_state(swapped)
    run = apply_process(swapped, tmp_path, "--soak", "0", pause_at=phase, send=send)
    assert run.code == 130, run.stdout + run.stderr
    doc = run.doc()
    [db] = doc["databases"]
    assert doc["outcome"] == db["outcome"] == "interrupted"
    assert db["database_state"] == "unchanged at 0.7.4"
    assert f"interrupted by {send.name}" in " ".join(db["reasons"])
    assert "COMMIT" not in db["sql"]
    if phase in ("update", "checks"):
        assert "ROLLBACK" in db["sql"]  # a late cancel may interrupt the ROLLBACK itself
    assert db_state(swapped) == before
    status, _steps = history_run(tmp_path, doc["run_id"])
    assert status == "interrupted"
    if phase in ("probe", "backup"):  # a stopped dump leaves no partial backup behind
        assert not list((tmp_path / "backups").rglob("*"))
    assert doc["evidence_dir"] and Path(doc["evidence_dir"], "evidence.json").is_file()


def test_a_killed_run_is_found_and_settled_by_the_next_apply(
    swapped: Sandbox, tmp_path: Path
) -> None:
    before = db_state(swapped)
    killed = apply_process(swapped, tmp_path, "--soak", "0", pause_at="update", send=signal.SIGKILL)
    assert killed.code == -signal.SIGKILL and killed.stdout == ""
    with HistoryStore.open(f"sqlite:///{tmp_path / 'h.db'}") as store:
        [left] = [r for r in store.runs("apply") if r.status == "running"]
        assert run_detail(store, left)["process"]["gone"] is True  # history queries see it
    assert db_state(swapped) == before  # the server rolled the open transaction back
    nxt = apply_process(swapped, tmp_path, "--dry-run")
    assert nxt.code == 0, nxt.stderr
    assert any(f"run {left.id} was left running" in n for n in nxt.doc()["notes"])
    with HistoryStore.open(f"sqlite:///{tmp_path / 'h.db'}") as store:
        settled = store.get_run(left.id)
    assert settled is not None and settled.status == "interrupted"
    assert settled.summary is not None
    [state] = settled.summary["databases"]
    assert state["state"] == "unchanged at 0.7.4"


def test_a_stop_after_commit_finishes_the_records(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    sb = sandbox_factory.fresh("16.4", "0.7.4", sample=True, rows=300)
    sb.install_extension("0.8.5")
    rows = db_state(sb)[1:]
    run = apply_process(sb, tmp_path, "--soak", "30", pause_at="soak")
    assert run.code == 4, run.stdout + run.stderr
    [db] = run.doc()["databases"]
    assert db["outcome"] == "post-commit-failed"
    assert db["database_state"].startswith("updated to 0.8.5")
    assert "interrupted by SIGINT after COMMIT" in " ".join(db["reasons"])
    assert db_state(sb) == ("0.8.5", *rows)
    status, steps = history_run(tmp_path, run.doc()["run_id"])
    assert status == "post-commit-failed"
    assert ("verify", "ok") in steps and ("soak", "stopped") in steps
    assert f"{db['target']}/{db['database']}: database updated to 0.8.5" in run.stderr
    sandbox_factory.discard(sb)
