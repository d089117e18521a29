"""`vecpatch rollout` on six real sandboxes in three waves, with the real `apply`.

Wave 2 holds a target whose pgvector 0.8.5 files were never installed (the package
step is missing), so its apply is refused: the rollout must halt after wave 2 with
wave 3 untouched, and resume to the end once the package is installed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from vecpatch.cli.main import app
from vecpatch.history.store import HistoryStore
from vecpatch.sandbox import Sandbox
from vecpatch.sandbox.testing import SandboxFactory

pytestmark = [pytest.mark.slow, pytest.mark.sandbox]


def _extversion(sb: Sandbox) -> str:
    return str(sb.run_sql("SELECT extversion FROM pg_extension WHERE extname = 'vector'")[0][0])


def _fleet(factory: SandboxFactory, tmp: Path) -> tuple[list[Sandbox], Path, dict[str, str]]:
    boxes = [factory.fresh("16.4", "0.7.4", sample=True, rows=60) for _ in range(6)]
    for i, sb in enumerate(boxes):
        if i != 3:  # db3 (wave 2) misses the package step
            sb.install_extension("0.8.5")
    lines: list[str] = []
    env: dict[str, str] = {}
    for i, sb in enumerate(boxes):
        env[f"VP_RO_PW_{i}"] = sb._password()
        lines += [
            "[[targets]]",
            f'name = "db{i}"',
            'environment = "production"',
            f"wave = {i // 2 + 1}",
            f'dsn = "postgresql://postgres@127.0.0.1:{sb.port}/postgres"',
            f'password = "env:VP_RO_PW_{i}"',
        ]
    path = tmp / "fleet.toml"
    path.write_text("\n".join(lines) + "\n")
    return boxes, path, env


def _invoke(args: list[str], env: dict[str, str]) -> tuple[int, dict[str, Any]]:
    full = {"VECPATCH_TARGETS": "", "VECPATCH_HISTORY": "", "VECPATCH_NOTIFY": "", **env}
    res = CliRunner().invoke(app, args, env=full, catch_exceptions=False)
    assert all(pw not in res.stdout + res.stderr for pw in env.values() if len(pw) > 8)
    return res.exit_code, json.loads(res.stdout) if res.stdout.strip().startswith("{") else {}


def test_rollout_halts_in_wave_2_then_resumes(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    boxes, targets, env = _fleet(sandbox_factory, tmp_path)
    history = f"sqlite:///{tmp_path / 'h.db'}"
    with HistoryStore.open(history) as store:  # the staging gates read the stage runs
        stage = store.start_run("stage")
        store.finish_run(stage, "passed", {"from": "0.7.4", "to": "0.8.5", "pg_major": "16"})
    common = ["--targets", str(targets), "--yes", "--backup", "none", "--i-have-a-backup"]
    common += ["--soak", "0", "--now", "--history", history, "--format", "json"]
    common += ["--evidence-dir", str(tmp_path / "ev")]

    code, _ = _invoke(["rollout", "--targets", str(targets), "--to", "0.8.5", "--dry-run"], env)
    assert code == 0

    code, doc = _invoke(
        ["rollout", *common, "--to", "0.8.5", "--bake", "1s", "--concurrency", "2"], env
    )
    assert code == 1, doc
    assert doc["status"] == "halted" and "wave 2" in doc["reason"] and "db3" in doc["reason"], (
        json.dumps(doc["waves"], indent=1)
    )
    waves = {w["label"]: {t["target"]: t for t in w["targets"]} for w in doc["waves"]}
    assert list(waves) == ["wave 1", "wave 2", "wave 3"]
    assert waves["wave 2"]["db3"]["state"] == "failed"
    assert waves["wave 2"]["db3"]["outcome"] == "refused"
    assert all(t["state"] == "pending" for t in waves["wave 3"].values())
    assert [_extversion(sb) for sb in boxes] == ["0.8.5"] * 3 + ["0.7.4"] * 3
    first_runs = {n: t["apply_run_id"] for n, t in waves["wave 1"].items()}

    boxes[3].install_extension("0.8.5")  # the cause goes away
    code, doc = _invoke(["rollout", *common, "--resume", doc["rollout_id"]], env)
    assert code == 0, doc
    assert doc["status"] == "completed"
    states = {t["target"]: t for w in doc["waves"] for t in w["targets"]}
    assert all(s["state"] == "done" and s["outcome"] == "applied" for s in states.values())
    assert {n: states[n]["apply_run_id"] for n in first_runs} == first_runs  # not re-applied
    assert [_extversion(sb) for sb in boxes] == ["0.8.5"] * 6
    with HistoryStore.open(history) as store:
        [run] = store.runs("rollout")
        assert run.status == "completed" and run.summary and run.summary["done"] == 6
        assert len(store.runs("apply")) == 7  # 6 targets + the refused first try of db3
    for sb in boxes:
        sandbox_factory.discard(sb)
