"""`vecpatch worker enqueue-apply`: two workers update a queued fleet in real PostgreSQL,
each target recorded as its own apply run (what a local `vecpatch apply` of it records),
an unreachable one as a refused run rather than a retried job; without --yes, or with an
inline password, nothing is queued."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.automation.workers import drain
from vecpatch.apply.model import ApplyOptions, BackupKind
from vecpatch.automation.worker import job_commands
from vecpatch.cli.main import app
from vecpatch.errors import UsageError
from vecpatch.history.store import HistoryStore
from vecpatch.plan import Policy
from vecpatch.sandbox import Sandbox
from vecpatch.sandbox.testing import SandboxFactory
from vecpatch.targets.model import Target

runner = CliRunner()
BASE_ENV = {"VECPATCH_TARGETS": "", "VECPATCH_HISTORY": "", "VECPATCH_QUEUE_DSN": ""}
NO_QUEUE = "postgresql://vecpatch@127.0.0.1:1/never"  # nothing may connect to it


def _vecpatch(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vecpatch", *args],
        env={**os.environ, **BASE_ENV},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_enqueue_apply_without_yes_exits_2_before_touching_the_queue() -> None:
    res = _vecpatch("worker", "enqueue-apply", "--queue-dsn", NO_QUEUE, "--to", "0.8.5",
                    "postgresql://postgres@127.0.0.1:5432/postgres")  # fmt: skip
    assert res.returncode == 2, res.stderr
    assert "--yes" in res.stderr
    assert "connect" not in res.stderr.lower()


def test_enqueue_apply_refuses_an_inline_password(tmp_path: Path) -> None:
    inline = tmp_path / "inline.toml"
    inline.write_text('[[targets]]\nname = "x"\ndsn = "postgresql://u:hunter2@127.0.0.1:1/x"\n')
    res = _vecpatch("worker", "enqueue-apply", "--queue-dsn", NO_QUEUE, "--targets",
                    str(inline), "--to", "0.8.5", "--yes")  # fmt: skip
    assert res.returncode == 2, res.stderr
    assert "cannot be queued" in res.stderr
    assert "hunter2" not in res.stdout + res.stderr


def test_apply_options_survive_the_queue_json() -> None:
    opts = ApplyOptions(
        policy=Policy.LATEST_PATCH, to="0.8.5", backup=BackupKind.SCHEMA,
        backup_dir=Path("/var/backups"), yes=True, lock_timeout=0.5, soak=0.0,
        reconnect_stale=True, evidence_dir=Path("ev"), pg_bin=Path("/usr/lib/pg/bin"),
        package_hook="echo {host}", concurrency=2,
    )  # fmt: skip
    doc = json.loads(json.dumps(opts.public()))
    assert ApplyOptions.from_public(doc) == opts
    assert ApplyOptions.from_public(ApplyOptions().public()) == ApplyOptions()
    with pytest.raises(ValueError, match="unknown"):
        ApplyOptions.from_public({"password": "x"})


def _extversion(sb: Sandbox) -> str:
    rows = sb.run_sql("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
    return str(rows[0][0])


@pytest.mark.slow
@pytest.mark.sandbox
def test_two_workers_apply_a_queued_fleet_one_apply_run_per_target(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    host = sandbox_factory.fresh("16.4", "0.7.4")  # hosts the queue and the history store
    for name in ("vpqueue", "vphistory"):
        host.run_sql(f"CREATE DATABASE {name}")
    fleet = [sandbox_factory.fresh("16.4", "0.7.4", sample=True, rows=50) for _ in range(2)]
    for sb in fleet:
        sb.install_extension("0.8.5")  # the OS package upgrade; the databases stay on 0.7.4
    env = {f"VP_A_PW_{i}": sb._password() for i, sb in enumerate(fleet)}
    lines = []
    for i, sb in enumerate(fleet):
        lines += ["[[targets]]", f'name = "sb{i}"', 'environment = "prod"',
                  f'dsn = "postgresql://postgres@127.0.0.1:{sb.port}/postgres"',
                  f'password = "env:VP_A_PW_{i}"']  # fmt: skip
    lines += ["[[targets]]", 'name = "gone"', 'dsn = "host=127.0.0.1 port=1 dbname=x"']
    targets = tmp_path / "fleet.toml"
    targets.write_text("\n".join(lines) + "\n")
    queue = host.dsn("vpqueue")
    history = host.dsn("vphistory")
    base = {**BASE_ENV, **env}
    evidence, backups = tmp_path / "evidence", tmp_path / "backups"
    enqueue = ["worker", "enqueue-apply", "--queue-dsn", queue, "--targets", str(targets),
               "--to", "0.8.5", "--soak", "0", "--pg-bin", str(fleet[0].bin_dir),
               "--evidence-dir", str(evidence), "--backup-dir", str(backups)]  # fmt: skip

    with pytest.raises(UsageError, match="--yes"):
        runner.invoke(app, enqueue, env=base, catch_exceptions=False)
    inline = tmp_path / "inline.toml"
    inline.write_text(f'[[targets]]\nname = "x"\ndsn = "{fleet[0].dsn()}"\n')
    with pytest.raises(UsageError, match="cannot be queued"):
        runner.invoke(app, ["worker", "enqueue-apply", "--queue-dsn", queue, "--targets",
                            str(inline), "--to", "0.8.5", "--yes"], env=base,
                      catch_exceptions=False)  # fmt: skip
    assert host.run_sql("SELECT to_regclass('procrastinate_jobs') IS NULL", dbname="vpqueue") == [
        (True,)
    ]  # neither refusal reached the queue

    res = runner.invoke(app, [*enqueue, "--yes"], env=base, catch_exceptions=False)
    assert res.exit_code == 0, res.stderr
    assert res.stdout.strip().splitlines()[-1] == "3"
    queued = host.run_sql("SELECT task_name, args::text FROM procrastinate_jobs", dbname="vpqueue")
    assert [t for t, _ in queued] == ["vecpatch.apply_target"] * 3
    assert all(pw not in args for _, args in queued for pw in env.values())
    assert all(_extversion(sb) == "0.7.4" for sb in fleet)  # nothing ran at enqueue time

    codes, outputs = drain(queue, history, base, extra=("--allow-job-commands",))
    assert codes == [0, 0], outputs
    secrets = [host._password(), *env.values()]
    assert not [s for s in secrets for o in outputs if s in o]

    statuses = host.run_sql("SELECT status, count(*) FROM procrastinate_jobs GROUP BY 1",
                            dbname="vpqueue")  # fmt: skip
    assert statuses == [("succeeded", 3)], outputs  # a refused apply is a result, not a retry
    assert [_extversion(sb) for sb in fleet] == ["0.8.5", "0.8.5"]

    with HistoryStore.open(history) as store:
        runs = store.runs("apply")
        assert sorted(r.status for r in runs) == ["applied", "applied", "refused"], outputs
        runs = [r for r in runs if r.status == "applied"]
        for run in runs:
            assert run.summary is not None and run.summary["outcome"] == "applied"
            bundle = json.loads((evidence / run.id / "evidence.json").read_text())
            [db] = [d for d in bundle["databases"] if d["outcome"] == "applied"]
            assert db["from"] == "0.7.4" and db["to"] == "0.8.5"
            assert bundle["options"] == {  # the enqueuer's options, rebuilt exactly
                **ApplyOptions().public(), "to": "0.8.5", "yes": True, "soak": 0.0,
                "pg_bin": str(fleet[0].bin_dir), "evidence_dir": str(evidence),
                "backup_dir": str(backups),
            }  # fmt: skip
            steps = {(s.step, s.outcome) for s in store.apply_steps(run.id)}
            assert ("update", "ok") in steps
        applied = sorted(
            json.loads((evidence / r.id / "evidence.json").read_text())["databases"][0]["target"]
            for r in runs
        )
        assert applied == ["sb0", "sb1"]  # one run per target


def test_commands_a_queued_apply_would_run_are_named() -> None:
    """Workers refuse these unless started with --allow-job-commands."""
    target = Target(name="t", dsn="host=db", package_hook="install {version}")
    opts = ApplyOptions(to="0.8.5", yes=True, pg_bin=Path("/opt/pg/bin"), reconnect_hook="x")
    assert job_commands(target, opts) == [
        "--reconnect-hook", "--pg-bin", "the target's package_hook"
    ]  # fmt: skip
    assert job_commands(Target(name="t", dsn="host=db"), ApplyOptions(to="0.8.5")) == []


def test_a_queued_apply_must_name_its_version() -> None:
    res = _vecpatch("worker", "enqueue-apply", "--queue-dsn", NO_QUEUE, "--yes",
                    "postgresql://postgres@127.0.0.1:5432/postgres")  # fmt: skip
    assert res.returncode == 2 and "--to" in res.stderr
