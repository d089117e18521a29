"""One identity per server, on a real server: the same cluster scanned through two DSNs
(``127.0.0.1`` and ``localhost``, under two target names) is one server in the history,
its databases are counted once by ``vecpatch metrics``, and its PostgreSQL advisories
have one window per server, not one per database or per alias."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from psycopg.conninfo import conninfo_to_dict
from typer.testing import CliRunner

from vecpatch.cli.main import app
from vecpatch.history import HistoryStore
from vecpatch.sandbox.testing import SandboxFactory

pytestmark = [pytest.mark.slow, pytest.mark.sandbox]

runner = CliRunner()


def _target(name: str, host: str, port: int) -> str:
    return (
        f'[[targets]]\nname = "{name}"\nenvironment = "production"\n'
        f'dsn = "postgresql://postgres@{host}:{port}/postgres"\n'
        'password = "env:PW_SAME"\ndatabases = "all"\n'
    )


def test_two_dsns_of_one_server_count_once(sandbox_factory: SandboxFactory, tmp_path: Path) -> None:
    sb = sandbox_factory.get("16.4", "0.7.4")
    env = {
        "VECPATCH_TARGETS": "",
        "VECPATCH_HISTORY": "",
        "PW_SAME": str(conninfo_to_dict(sb.dsn())["password"]),
    }
    targets = tmp_path / "targets.toml"
    targets.write_text(
        _target("by-ip", "127.0.0.1", sb.port) + _target("by-name", "localhost", sb.port)
    )
    history = f"sqlite:///{tmp_path / 'history.db'}"
    for _ in range(2):
        scan = runner.invoke(
            app, ["scan", "--targets", str(targets), "--history", history, "--format", "json"],
            env=env, catch_exceptions=False,
        )  # fmt: skip
        assert scan.exit_code in (0, 1), scan.output
    with HistoryStore.open(history) as store:
        rows = store.scan_results(store.runs("scan")[-1].id)
    ids = {r.server_id for r in rows}
    assert len(ids) == 1 and next(iter(ids), "").startswith("sysid:"), ids
    databases = {r.database for r in rows if r.database is not None}

    result = runner.invoke(
        app, ["metrics", "--since", "all", "--format", "json", "--history", history],
        env=env, catch_exceptions=False,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["exposure"]["databases"] == len(databases)
    assert doc["exposure"]["servers"]["total"] == 1
    windows = doc["vulnerability_window"]["windows"]
    keys = [(w["server"], w["database"], w["advisory_id"]) for w in windows]
    assert len(keys) == len(set(keys))
    server_level = [w for w in windows if w["database"] is None]
    assert server_level, "16.4 has PostgreSQL advisories in the bundled catalog"
    per_advisory = {w["advisory_id"] for w in server_level}
    assert len(server_level) == len(per_advisory)  # a PostgreSQL CVE: one window per server
