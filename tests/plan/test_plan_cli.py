"""`vecpatch plan` against a real sandbox whose package was upgraded on disk."""

from __future__ import annotations

import json

import psycopg
import pytest
from typer.testing import CliRunner

from vecpatch.cli.main import app
from vecpatch.sandbox import Sandbox
from vecpatch.sandbox.testing import SandboxFactory

pytestmark = [pytest.mark.slow, pytest.mark.sandbox]

EXTVERSION = "SELECT extversion FROM pg_extension WHERE extname = 'vector'"


@pytest.fixture(scope="module")
def swapped(sandbox_factory: SandboxFactory) -> Sandbox:
    """16.4 with pgvector 0.7.4 installed, then the 0.8.5 package put on disk."""
    sb = sandbox_factory.fresh("16.4", "0.7.4", sample=True, rows=200)
    sb.install_extension("0.8.5")
    return sb


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout


def test_plan_json_uses_the_paths_on_disk(swapped: Sandbox) -> None:
    code, out = run("plan", swapped.dsn(), "--to", "0.8.5", "--format", "json")
    assert code == 0, out
    (target,) = json.loads(out)["targets"]
    assert target["package"] is None  # 0.8.5 is already on disk
    # a sandbox "offers" the minors vecpatch has builds for: 16.14, not the catalog's 16.15
    assert target["platform"] == "sandbox" and target["pg_minor"]["target"] == "16.14"
    notes = target["pg_minor"]["notes"]
    assert "the host offers at most 16.14; 16.15 is not packaged there" in notes
    (db,) = target["databases"]
    assert db["status"] == "planned" and db["installed"] == "0.7.4" and db["target"] == "0.8.5"
    assert db["path"][0] == "0.7.4" and db["path"][-1] == "0.8.5"
    assert db["sql"] == ["ALTER EXTENSION vector UPDATE TO '0.8.5'"]
    assert swapped.dsn().split("@")[0].split(":")[-1] not in out  # no password


def test_plan_sql_runs_in_a_fresh_session(swapped: Sandbox) -> None:
    code, out = run("plan", swapped.dsn(), "--to", "0.8.5", "--sql")
    assert code == 0
    statements = [ln for ln in out.splitlines() if ln.startswith("ALTER EXTENSION")]
    assert statements == ["ALTER EXTENSION vector UPDATE TO '0.8.5';"]
    with psycopg.connect(swapped.dsn()) as conn, conn.transaction(force_rollback=True):
        conn.execute(statements[0].rstrip(";"))
        row = conn.execute(
            "SELECT extversion FROM pg_extension WHERE extname = 'vector'"
        ).fetchone()
        assert row == ("0.8.5",)
    assert swapped.run_sql("SELECT extversion FROM pg_extension WHERE extname = 'vector'") == [
        ("0.7.4",)
    ]


def test_latest_needs_a_package_step_and_blocked_exits_1(swapped: Sandbox) -> None:
    code, out = run("plan", swapped.dsn(), "--format", "json")
    assert code == 0
    (target,) = json.loads(out)["targets"]
    assert target["package"]["version"] == "0.8.6"
    code, out = run("plan", swapped.dsn(), "--to", "0.7.0", "--format", "json")
    assert code == 1
    (db,) = json.loads(out)["targets"][0]["databases"]
    assert db["status"] == "blocked" and "downgrade" in db["blockers"][0]
