"""The CLI keeps secrets out of status output, and leftovers of killed runs are cleaned up."""

from __future__ import annotations

import json
import os
import signal
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from vecpatch.cli.main import app
from vecpatch.sandbox import Sandbox, SandboxState, destroy_all, list_sandboxes
from vecpatch.sandbox.testing import SandboxFactory

pytestmark = [pytest.mark.slow, pytest.mark.sandbox]

runner = CliRunner()


def test_password_only_in_dsn(sandbox_factory: SandboxFactory) -> None:
    sb = sandbox_factory.get("16.4", "0.7.4")
    password = (sb.path / "password").read_text().strip()
    assert oct((sb.path / "password").stat().st_mode & 0o777) == "0o600"
    for args in (["status"], ["status", sb.name], ["list"]):
        table = runner.invoke(app, ["sandbox", *args])
        assert table.exit_code == 0, table.output
        assert password not in table.output
        result = runner.invoke(app, ["sandbox", *args, "--json"])
        assert result.exit_code == 0, result.output
        assert sb.name in {s["name"] for s in json.loads(result.output)}
        assert password not in result.output
    result = runner.invoke(app, ["sandbox", "dsn", sb.name], env={"COLUMNS": "400"})
    assert result.exit_code == 0
    dsn = result.output.strip()
    assert password in dsn and "127.0.0.1" in dsn
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    with pytest.raises(psycopg.OperationalError, match="password"):
        psycopg.connect(dsn.replace(password, "wrong"))


def test_versions_and_help() -> None:
    result = runner.invoke(app, ["sandbox", "versions"], env={"COLUMNS": "200"})
    assert result.exit_code == 0 and "18.4" in result.output and "0.6.2" in result.output
    for cmd in ("create", "install-extension", "pg-minor", "destroy", "dsn", "psql"):
        assert runner.invoke(app, ["sandbox", cmd, "--help"]).exit_code == 0


@pytest.fixture
def private_dir(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A sandbox folder of our own, so destroy --all cannot touch other tests' sandboxes."""
    folder = Path(tempfile.mkdtemp(prefix="vecpatch-leftovers-"))
    folder.chmod(0o711)
    monkeypatch.setenv("VECPATCH_SANDBOX_DIR", str(folder))
    yield folder
    destroy_all()
    folder.rmdir()


def test_destroy_all_removes_leftovers_of_killed_runs(private_dir: Path) -> None:
    running = Sandbox.create("still-running", "16.4", "0.7.4")
    killed = Sandbox.create("killed", "16.4", "0.7.4")
    pid = killed.status().pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while killed.is_running():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    (private_dir / "interrupted" / "data").mkdir(parents=True)
    states = {s.name: s.state for s in list_sandboxes()}
    assert states == {
        "still-running": SandboxState.RUNNING,
        "killed": SandboxState.STALE,
        "interrupted": SandboxState.ORPHAN,
    }
    result = runner.invoke(app, ["sandbox", "list", "--json"])
    assert {s["state"] for s in json.loads(result.output)} == {"running", "stale", "orphan"}
    result = runner.invoke(app, ["sandbox", "destroy", "--all"])
    assert result.exit_code == 0, result.output
    assert list(private_dir.iterdir()) == []
    assert not running.is_running()
