"""`vecpatch worker enqueue-stage`: a worker stages a queued target on a clone of it in real
PostgreSQL, as `vecpatch stage --clone-from` does: a stage run with its cases in the
worker's history, the report on the worker, production untouched and the clone gone; a
target that cannot be cloned is a job result, not a retry; an inline password is never
queued."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.automation.workers import drain
from vecpatch.cli.main import app
from vecpatch.history.store import HistoryStore
from vecpatch.plan import PlanPolicy, Policy
from vecpatch.sandbox import Sandbox, list_sandboxes
from vecpatch.stage.runner import StageOptions

runner = CliRunner()
BASE_ENV = {"VECPATCH_TARGETS": "", "VECPATCH_HISTORY": "", "VECPATCH_QUEUE_DSN": ""}
NO_QUEUE = "postgresql://vecpatch@127.0.0.1:1/never"  # nothing may connect to it


def test_enqueue_stage_refuses_an_inline_password_before_touching_the_queue(
    tmp_path: Path,
) -> None:
    inline = tmp_path / "inline.toml"
    inline.write_text('[[targets]]\nname = "x"\ndsn = "postgresql://u:hunter2@127.0.0.1:1/x"\n')
    res = subprocess.run(
        [sys.executable, "-m", "vecpatch", "worker", "enqueue-stage", "--queue-dsn", NO_QUEUE,
         "--targets", str(inline), "--to", "0.8.5"],
        env={**os.environ, **BASE_ENV}, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert res.returncode == 2, res.stderr
    assert "cannot be queued" in res.stderr
    assert "connect" not in res.stderr.lower()  # refused before the queue was reached
    assert "hunter2" not in res.stdout + res.stderr


def test_stage_options_survive_the_queue_json() -> None:
    opts = StageOptions(
        policy=PlanPolicy(Policy.PINNED, "0.8.5", 3), plan_file=Path("/etc/vp/plan.yaml"),
        queries_file=Path("q.sql"), post_update_sql=Path("post.sql"), perf_queries=10,
        rollback_drill=False, lock_timeout=0.5,
    )  # fmt: skip
    doc = json.loads(json.dumps(opts.public()))
    assert StageOptions.from_public(doc) == opts
    assert StageOptions.from_public(StageOptions().public()) == StageOptions()
    with pytest.raises(ValueError, match="unknown"):
        StageOptions.from_public({"password": "x"})


@pytest.mark.slow
@pytest.mark.sandbox
def test_a_worker_stages_a_queued_target_on_a_clone_of_it(
    fresh_sandbox: Callable[..., Sandbox], tmp_path: Path
) -> None:
    host = fresh_sandbox("16.4", "0.7.4")  # hosts the queue and the history store
    prod = fresh_sandbox("16.4", "0.7.4", sample=True, rows=300)
    for name in ("vpqueue", "vphistory"):
        host.run_sql(f"CREATE DATABASE {name}")
    password = prod._password()
    targets = tmp_path / "fleet.toml"
    targets.write_text(
        "\n".join([
            "[[targets]]", 'name = "prod"', 'environment = "prod"',
            f'dsn = "postgresql://postgres@127.0.0.1:{prod.port}/postgres"',
            'password = "env:VP_S_PW"',
            "[[targets]]", 'name = "gone"', 'environment = "prod"',
            'dsn = "host=127.0.0.1 port=1 dbname=x"',
        ]) + "\n"
    )  # fmt: skip
    queue, history = host.dsn("vpqueue"), host.dsn("vphistory")
    base = {**BASE_ENV, "VP_S_PW": password}
    reports = tmp_path / "reports"
    before = {s.name for s in list_sandboxes()}

    res = runner.invoke(app, ["worker", "enqueue-stage", "--queue-dsn", queue, "--targets",
                              str(targets), "--to", "0.8.5", "--sample-rows", "100",
                              "--perf-queries", "10", "--no-rollback-drill", "--output-dir",
                              str(reports)], env=base, catch_exceptions=False)  # fmt: skip
    assert res.exit_code == 0, res.stderr
    assert res.stdout.strip().splitlines()[-1] == "2"
    queued = host.run_sql("SELECT task_name, args::text FROM procrastinate_jobs", dbname="vpqueue")
    assert [t for t, _ in queued] == ["vecpatch.stage_target"] * 2
    assert not [a for _, a in queued if password in a or host._password() in a]
    assert sum('"ref": "VP_S_PW"' in a for _, a in queued) == 1  # the reference, not the value

    [code], [output] = drain(queue, history, base, workers=1, timeout=600)
    assert code == 0, output
    assert password not in output and host._password() not in output
    assert "stage of gone: cannot read production gone" in output  # a result, logged

    statuses = host.run_sql("SELECT status, count(*) FROM procrastinate_jobs GROUP BY 1",
                            dbname="vpqueue")  # fmt: skip
    assert statuses == [("succeeded", 2)], output  # neither job crashed nor was retried

    with HistoryStore.open(history) as store:
        [run] = store.runs("stage")  # the unreachable target never started a run
        assert run.summary is not None
        assert (run.summary["from"], run.summary["to"]) == ("0.7.4", "0.8.5")
        assert run.summary["staging"]["kind"] == "clone"
        cases = {c.case_id: c for c in store.stage_cases(run.id)}
    assert cases, output
    # timing-based verdicts can be noisy under a parallel run: assert what ran, not how fast
    assert cases["compatibility.update"].verdict == "pass", cases["compatibility.update"]
    assert "performance.recall.public.items_embedding_hnsw" in cases  # indexes were cloned

    folder = reports / run.id
    doc = json.loads((folder / "report.json").read_text())
    assert doc["run_id"] == run.id and doc["staging"]["kind"] == "clone"
    assert "public.items: 100 of ~300 rows sampled" in " ".join(doc["staging"]["notes"])
    assert {c["id"] for c in doc["cases"]} == set(cases)
    texts = [(folder / n).read_text() for n in ("report.json", "report.md", "report.html")]
    assert not [t for t in texts if password in t]

    # production is untouched, and the clone is gone
    assert prod.run_sql("SELECT extversion FROM pg_extension WHERE extname = 'vector'") == [
        ("0.7.4",)
    ]
    assert prod.run_sql("SELECT count(*) FROM items") == [(300,)]
    assert {s.name for s in list_sandboxes()} == before
