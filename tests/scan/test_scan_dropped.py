"""A dropped database, end to end on a real server: the scan records every database on the
server (also one that refuses connections), and after ``DROP DATABASE`` the next scan
closes the dropped database's vulnerability windows and the fleet forgets it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from psycopg.conninfo import conninfo_to_dict
from typer.testing import CliRunner

from vecpatch.cli.main import app
from vecpatch.history import HistoryStore
from vecpatch.metrics import load_history
from vecpatch.metrics.exposure import fleet
from vecpatch.metrics.windows import vulnerability_windows
from vecpatch.sandbox import Sandbox

pytestmark = [pytest.mark.slow, pytest.mark.sandbox]

runner = CliRunner()


def _scan(targets: Path, history: str, env: dict[str, str]) -> str:
    result = runner.invoke(
        app,
        ["scan", "--targets", str(targets), "--history", history, "--format", "json"],
        env=env,
        catch_exceptions=False,
    )
    assert result.exit_code in (0, 1), result.output
    with HistoryStore.open(history) as store:
        return store.runs("scan")[-1].id


def test_a_dropped_database_closes_its_windows_and_leaves_the_fleet(
    fresh_sandbox: Callable[..., Sandbox], tmp_path: Path
) -> None:
    sb = fresh_sandbox("16.2", "0.6.2")
    sb.run_sql("CREATE DATABASE x")
    sb.run_sql("CREATE EXTENSION vector", dbname="x")
    sb.run_sql("CREATE DATABASE sealed WITH ALLOW_CONNECTIONS = false")
    env = {
        "VECPATCH_TARGETS": "",
        "VECPATCH_HISTORY": "",
        "PW_DROP": str(conninfo_to_dict(sb.dsn())["password"]),
    }
    targets = tmp_path / "targets.toml"
    targets.write_text(
        '[[targets]]\nname = "srv"\nenvironment = "production"\n'
        f'dsn = "postgresql://postgres@127.0.0.1:{sb.port}/postgres"\n'
        'password = "env:PW_DROP"\ndatabases = "all"\n'
    )
    history = f"sqlite:///{tmp_path / 'history.db'}"

    first = _scan(targets, history, env)
    with HistoryStore.open(history) as store:
        rows = store.scan_results(first)
    [server_row] = [r for r in rows if r.database is None]
    assert server_row.reachable and server_row.environment == "production"
    assert server_row.pg_version == "16.2" and server_row.facts["server"]["version"] == "16.2"
    listed = server_row.facts["server_databases"]
    assert listed == sorted(listed)
    assert {"postgres", "sealed", "template0", "template1", "x"} <= set(listed)
    scanned = {r.database for r in rows if r.database is not None}
    assert "x" in scanned and "sealed" not in scanned and "template0" not in scanned

    with HistoryStore.open(history) as store:
        data = load_history(store)
    now = datetime.now(UTC)
    opened = [w for w in vulnerability_windows(data, now) if w.database == "x"]
    assert opened and all(w.is_open for w in opened)
    assert ("srv", "x") in {(r.target, r.database) for r in fleet(data)}

    sb.run_sql("DROP DATABASE x")
    second = _scan(targets, history, env)
    with HistoryStore.open(history) as store:
        data = load_history(store)
        second_at = store.get_run(second).started_at  # type: ignore[union-attr]
    windows = vulnerability_windows(data, datetime.now(UTC))
    of_x = [w for w in windows if w.database == "x"]
    assert {w.advisory_id for w in of_x} == {w.advisory_id for w in opened}
    assert all(w.closed_by == "dropped" and w.closed_at == second_at for w in of_x)
    assert all(w.to_dict()["closed_by"] == "dropped" for w in of_x)
    # the server is as exposed as before: its own (PostgreSQL) windows stay open
    assert any(w.database is None and w.is_open for w in windows)
    databases = {r.database for r in fleet(data)}
    assert "x" not in databases and "postgres" in databases
