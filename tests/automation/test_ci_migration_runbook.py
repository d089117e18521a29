"""Generated artifacts: CI workflows valid for their schemas, migrations per tool (the raw
one run with psql on a real sandbox), and the runbook from a plan document."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from vecpatch.automation.migration import NO_DOWNGRADE, Spec, upgrade_statements
from vecpatch.cli.main import app
from vecpatch.errors import UsageError
from vecpatch.sandbox import Sandbox
from vecpatch.sandbox.testing import SandboxFactory

CHECK = Path(sys.executable).with_name("check-jsonschema")


def cli(*args: str) -> Result:
    env = {"VECPATCH_TARGETS": "", "VECPATCH_HISTORY": ""}
    return CliRunner().invoke(app, list(args), env=env, catch_exceptions=False)


@pytest.mark.parametrize(
    ("flag", "path", "schema"),
    [
        ("--github", ".github/workflows/vecpatch.yml", "vendor.github-workflows"),
        ("--gitlab", "vecpatch.gitlab-ci.yml", "vendor.gitlab-ci"),
    ],
)
def test_ci_workflows_validate_against_their_schemas(
    tmp_path: Path, flag: str, path: str, schema: str
) -> None:
    res = cli("init", "ci", flag, "--dir", str(tmp_path), "--env", "prod-eu", "--fail-on", "medium")
    assert res.exit_code == 0, res.stderr
    written = tmp_path / path
    text = written.read_text()
    check = subprocess.run(
        [str(CHECK), "--builtin-schema", schema, str(written)], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert "--format sarif" in text and "--fail-on medium" in text and "prod-eu" in text
    if flag == "--github":
        assert "github/codeql-action/upload-sarif" in text and "workflow_dispatch" in text
        assert "environment: ${{ inputs.environment }}" in text and "schedule" in text
    else:
        assert "when: manual" in text and '$CI_PIPELINE_SOURCE == "schedule"' in text
    with pytest.raises(UsageError, match="exists"):  # never over a workflow without --force
        cli("init", "ci", flag, "--dir", str(tmp_path))


def test_ci_refuses_values_that_break_the_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        cli("init", "ci", "--github", "--dir", str(tmp_path), "--env", "prod; rm -rf /")
    assert not (tmp_path / ".github").exists()


def test_migration_files_per_tool(tmp_path: Path) -> None:
    spec = Spec.checked("0.8.5", "0.7.4", 2000)
    stmts = upgrade_statements(spec)
    assert stmts[0] == "SET LOCAL lock_timeout = '2000ms'"
    assert stmts[2] == "ALTER EXTENSION vector UPDATE TO '0.8.5'"

    fly = tmp_path / "flyway"
    assert cli("migration", "--tool", "flyway", "--to", "0.8.5", "--from", "0.7.4",
               "-o", str(fly)).exit_code == 0  # fmt: skip
    [vfile] = list(fly.iterdir())
    assert re.fullmatch(r"V\d{14}__pgvector_0_7_4_to_0_8_5\.sql", vfile.name)
    body = vfile.read_text()
    assert "BEGIN;" not in body  # Flyway owns the transaction
    assert all(s in body for s in stmts)

    alembic = tmp_path / "versions"
    res = cli("migration", "--tool", "alembic", "--to", "0.8.5", "--from", "0.7.4",
              "--revision", "abc123", "--revises", "prev01", "-o", str(alembic))  # fmt: skip
    assert res.exit_code == 0, res.stderr
    [rev] = list(alembic.iterdir())
    assert rev.name == "abc123_pgvector_0_7_4_to_0_8_5.py"
    loaded = importlib.util.spec_from_file_location("rev", rev)
    assert loaded and loaded.loader
    module: Any = importlib.util.module_from_spec(loaded)
    loaded.loader.exec_module(module)
    assert module.revision == "abc123" and module.down_revision == "prev01"
    assert stmts == module.UPGRADE
    with pytest.raises(RuntimeError, match="no downgrade scripts"):
        module.downgrade()

    sq = tmp_path / "sqitch"
    sq.mkdir()
    (sq / "sqitch.plan").write_text("%project=app\n\n")
    assert cli("migration", "--tool", "sqitch", "--to", "0.8.5", "-o", str(sq)).exit_code == 0
    change = "pgvector_to_0_8_5"
    assert "ALTER EXTENSION vector UPDATE TO '0.8.5'" in (sq / f"deploy/{change}.sql").read_text()
    assert NO_DOWNGRADE in (sq / f"revert/{change}.sql").read_text()
    assert "IS DISTINCT FROM '0.8.5'" in (sq / f"verify/{change}.sql").read_text()
    assert (sq / "sqitch.plan").read_text().splitlines()[-1].startswith(change + " ")

    raw = cli("migration", "--tool", "raw", "--to", "0.8.5")
    assert raw.stdout.startswith("-- vecpatch migration (raw)") and "COMMIT;" in raw.stdout
    with pytest.raises(UsageError, match="not a pgvector version"):
        cli("migration", "--tool", "raw", "--to", "0.8.5'; DROP")


def _psql(sb: Sandbox, script: Path) -> subprocess.CompletedProcess[str]:
    cmd = [str(sb.bin_dir / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", sb.socket_dsn()]
    return subprocess.run([*cmd, "-f", str(script)], capture_output=True, text=True)


def _extversion(sb: Sandbox) -> str:
    return str(sb.run_sql("SELECT extversion FROM pg_extension WHERE extname = 'vector'")[0][0])


@pytest.mark.slow
@pytest.mark.sandbox
def test_raw_migration_applies_once_and_guards(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    sb = sandbox_factory.fresh("16.4", "0.7.4", sample=True, rows=50)
    sb.install_extension("0.8.5")  # the package step: files swapped to 0.8.5
    wrong = tmp_path / "wrong.sql"
    wrong.write_text(cli("migration", "--tool", "raw", "--to", "0.8.5", "--from", "0.6.2").stdout)
    failed = _psql(sb, wrong)
    assert failed.returncode != 0 and "expected pgvector 0.6.2" in failed.stderr
    assert _extversion(sb) == "0.7.4"

    right = tmp_path / "right.sql"
    right.write_text(cli("migration", "--tool", "raw", "--to", "0.8.5", "--from", "0.7.4").stdout)
    done = _psql(sb, right)
    assert done.returncode == 0, done.stderr
    assert _extversion(sb) == "0.8.5"
    assert _psql(sb, right).returncode == 0 and _extversion(sb) == "0.8.5"  # a no-op now

    out = tmp_path / "sq"
    assert cli("migration", "--tool", "sqitch", "--to", "0.8.5", "-o", str(out)).exit_code == 0
    revert = _psql(sb, out / "revert/pgvector_to_0_8_5.sql")
    assert revert.returncode != 0 and "no downgrade scripts" in revert.stderr
    assert _psql(sb, out / "verify/pgvector_to_0_8_5.sql").returncode == 0
    sandbox_factory.discard(sb)


PLAN: dict[str, Any] = {
    "schema_version": "1.0",
    "created_at": "2026-11-25T10:00:00+00:00",
    "catalog_generated_at": "2026-11-24T00:00:00+00:00",
    "policy": {"policy": "pinned", "pinned": "0.8.5", "cooldown_days": 7},
    "warnings": [],
    "targets": [
        {
            "target": "app-db",
            "environment": "production",
            "host": "10.0.0.5",
            "port": "5432",
            "pg_version": "16.4",
            "pg_minor": {"current": "16.4", "target": "16.14", "target_date": None,
                         "cves_fixed": ["CVE-2026-1"]},
            "package": {"version": "0.8.5", "pg_major": "16", "instructions": [],
                        "hook_command": "ansible-playbook pgvector.yml -l 10.0.0.5"},
            "skipped": None,
            "on_replica": False,
            "databases": [
                {"database": "app", "status": "planned", "installed": "0.7.4", "target": "0.8.5",
                 "path": ["0.7.4", "0.8.5"], "actions": [], "blockers": [],
                 "sql": ["ALTER EXTENSION vector UPDATE TO '0.8.5'"]},
            ],
        }
    ],
}  # fmt: skip


def test_runbook_from_a_plan(tmp_path: Path) -> None:
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(PLAN))
    targets = tmp_path / "t.toml"
    targets.write_text(
        '[[targets]]\nname = "app-db"\ndsn = "host=10.0.0.5 dbname=app"\n'
        'window = "sat 02:00-04:00"\ntimezone = "Europe/Paris"\n'
    )
    out = tmp_path / "runbook.md"
    res = cli("runbook", "--plan", str(plan), "--targets", str(targets), "-o", str(out))
    assert res.exit_code == 0, res.stderr
    text = out.read_text()
    for heading in ("## Window", "## Steps", "## Verification", "## Rollback", "## Sign-off"):
        assert heading in text
    assert "`sat 02:00-04:00` (Europe/Paris), next opens" in text
    assert text.index("PostgreSQL minor 16.4 -> 16.14") < text.index("Install pgvector 0.8.5")
    assert "ALTER EXTENSION vector UPDATE TO '0.8.5'" in text and "vecpatch rollback" in text
    assert NO_DOWNGRADE in text
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    with pytest.raises(UsageError, match="not a vecpatch plan"):
        cli("runbook", "--plan", str(bad))
