"""The stage gate: production is updated only after a passing stage of the same update."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from vecpatch.apply.stagegate import DEFAULT_AGE, Wanted, decide
from vecpatch.cli.main import app
from vecpatch.history.records import RunRecord
from vecpatch.history.store import HistoryStore
from vecpatch.sandbox.testing import SandboxFactory

NOW = datetime(2026, 12, 1, tzinfo=UTC)
WANTED = Wanted("app-db", "production", "0.7.4", "0.8.5", "16")


def run(
    status: str = "passed", days_ago: float = 1, source: str = "0.7.4", **summary: str
) -> RunRecord:
    when = NOW - timedelta(days=days_ago)
    doc = {"from": source, "to": "0.8.5", "pg_major": "16", **summary}
    return RunRecord(id="s1", kind="stage", status=status, started_at=when, finished_at=when,
                     summary=doc)  # fmt: skip


def test_only_a_recent_passing_stage_of_the_same_update_opens_the_gate() -> None:
    assert decide([run()], WANTED, DEFAULT_AGE, NOW, None) is None
    refused = [
        [],
        [run(status="nothing-to-stage")],
        [run(status="incomplete")],
        [run(days_ago=31)],
        [run(source="0.6.2")],
        [run(to="0.8.1")],
        [run(pg_major="17")],
    ]
    for runs in refused:
        why = decide(runs, WANTED, DEFAULT_AGE, NOW, "sqlite:///h.db")
        assert why is not None and why.startswith("stage gate: no passing stage"), runs
        assert "`vecpatch stage --clone-from app-db --targets TARGETS.toml --to 0.8.5 " in why
        assert "--history sqlite:///h.db`" in why and "--no-stage-gate REASON" in why


def test_other_environments_are_not_gated() -> None:
    for env in ("staging", "prod", None):
        wanted = Wanted("db", env, "0.7.4", "0.8.5", "16")
        assert decide([], wanted, DEFAULT_AGE, NOW, None) is None


def _invoke(args: list[str], env: dict[str, str]) -> tuple[int, dict[str, Any]]:
    full = {"VECPATCH_TARGETS": "", "VECPATCH_HISTORY": "", "VECPATCH_NOTIFY": "", **env}
    res = CliRunner().invoke(app, args, env=full, catch_exceptions=False)
    text = res.stdout.strip()
    return res.exit_code, json.loads(text) if text.startswith("{") else {"output": text}


def _record(history: str, source: str) -> None:
    with HistoryStore.open(history) as store:
        run_id = store.start_run("stage")
        store.finish_run(run_id, "passed", {"from": source, "to": "0.8.5", "pg_major": "16"})


@pytest.mark.slow
@pytest.mark.sandbox
def test_apply_and_rollout_refuse_production_without_a_passing_stage(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    sb = sandbox_factory.fresh("16.4", "0.7.4", sample=True, rows=50)
    sb.install_extension("0.8.5")
    targets = tmp_path / "targets.toml"
    targets.write_text(
        f'[[targets]]\nname = "app-db"\nenvironment = "production"\n'
        f'dsn = "postgresql://postgres@127.0.0.1:{sb.port}/postgres"\npassword = "env:VP_GATE_PW"\n'
    )
    env = {"VP_GATE_PW": sb._password()}
    history = f"sqlite:///{tmp_path / 'h.db'}"
    _record(history, "0.6.2")  # a passing stage, but of another update: rollout's own check
    base = ["--targets", str(targets), "--to", "0.8.5", "--history", history, "-f", "json"]
    base += ["--backup", "none", "--i-have-a-backup"]

    code, doc = _invoke(["apply", *base, "--dry-run"], env)
    assert code == 1, doc
    [db] = [d for d in doc["databases"] if d["database"] == "postgres"]
    assert db["outcome"] == "refused"
    assert any(
        "stage gate" in r and "vecpatch stage --clone-from app-db" in r for r in db["reasons"]
    )

    evidence = ["--evidence-dir", str(tmp_path / "ev")]
    code, doc = _invoke(["rollout", *base, "--yes", "--soak", "0", "--now", *evidence], env)
    assert code == 1 and doc["status"] == "halted", doc
    assert "stage gate: no passing stage of pgvector 0.7.4 -> 0.8.5" in json.dumps(doc)
    assert sb.run_sql("SELECT extversion FROM pg_extension WHERE extname = 'vector'") == [
        ("0.7.4",)
    ]

    code, doc = _invoke(["apply", *base, "--dry-run", "--no-stage-gate", "CVE hotfix"], env)
    assert code == 0, [(d["reasons"], d["outcome"]) for d in doc["databases"]]
    [db] = [d for d in doc["databases"] if d["database"] == "postgres"]
    assert any("CVE hotfix" in w for w in db["warnings"])

    _record(history, "0.7.4")
    code, doc = _invoke(["apply", *base, "--dry-run"], env)
    assert code == 0, doc
