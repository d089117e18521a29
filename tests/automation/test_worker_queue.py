"""Two `vecpatch worker` processes drain a fleet scan queued in a real PostgreSQL, and the
history they write matches a local `vecpatch scan` of the same fleet."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.automation.workers import drain
from vecpatch.cli.main import app
from vecpatch.errors import UsageError
from vecpatch.history.store import HistoryStore
from vecpatch.sandbox.testing import SandboxFactory

pytestmark = [pytest.mark.slow, pytest.mark.sandbox]

SCAN_FIELDS = ("target", "database", "reachable", "environment", "reason", "pg_version",
               "pgvector_installed", "pgvector_default", "facts")  # fmt: skip
FINDING_FIELDS = ("target", "database", "kind", "advisory_id", "severity", "affected", "exposed",
                  "fix_version", "installed_version", "muted", "payload")  # fmt: skip


def _norm(value: Any) -> str:
    """JSONB (PostgreSQL) reorders keys; compare values, not key order (nor timings)."""
    if isinstance(value, dict):
        value = {k: v for k, v in value.items() if k != "duration_seconds"}
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, default=str)
    return repr(value)


def _rows(records: list[Any], fields: tuple[str, ...]) -> list[tuple[str, ...]]:
    return sorted(tuple(_norm(getattr(r, f)) for f in fields) for r in records)


def test_two_workers_drain_a_queued_scan_like_a_local_one(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    host = sandbox_factory.fresh("16.4", "0.7.4")  # hosts the queue and the history store
    for name in ("vpqueue", "vphistory"):
        host.run_sql(f"CREATE DATABASE {name}")
    fleet = [
        sandbox_factory.fresh("16.4", "0.7.4", sample=True, rows=50),
        sandbox_factory.fresh("16.10", "0.8.1", sample=True, rows=50),
    ]
    env = {f"VP_Q_PW_{i}": sb._password() for i, sb in enumerate(fleet)}
    lines = []
    for i, sb in enumerate(fleet):
        for db in ("postgres", "template1"):
            lines += ["[[targets]]", f'name = "sb{i}-{db}"', f'environment = "env{i}"',
                      f'dsn = "postgresql://postgres@127.0.0.1:{sb.port}/{db}"',
                      f'password = "env:VP_Q_PW_{i}"']  # fmt: skip
    lines += ["[[targets]]", 'name = "gone"', 'dsn = "host=127.0.0.1 port=1 dbname=x"']
    targets = tmp_path / "fleet.toml"
    targets.write_text("\n".join(lines) + "\n")
    queue = host.dsn("vpqueue")
    history = host.dsn("vphistory")
    base = {"VECPATCH_TARGETS": "", "VECPATCH_HISTORY": "", **env}
    runner = CliRunner()

    local_db = f"sqlite:///{tmp_path / 'local.db'}"
    res = runner.invoke(app, ["scan", "--targets", str(targets), "--history", local_db,
                              "--format", "json"], env=base, catch_exceptions=False)  # fmt: skip
    assert res.exit_code in (0, 1), res.stderr

    res = runner.invoke(app, ["worker", "enqueue-scan", "--queue-dsn", queue, "--targets",
                              str(targets), "--history", history], env=base,
                        catch_exceptions=False)  # fmt: skip
    assert res.exit_code == 0, res.stderr
    run_id = res.stdout.strip().splitlines()[-1]
    assert host._password() not in res.stdout + res.stderr

    codes, outputs = drain(queue, history, base, timeout=180)
    assert codes == [0, 0], outputs
    assert all(host._password() not in o for o in outputs)

    statuses = host.run_sql("SELECT status, count(*) FROM procrastinate_jobs GROUP BY 1",
                            dbname="vpqueue")  # fmt: skip
    assert statuses == [("succeeded", 5)]

    with HistoryStore.open(local_db) as local, HistoryStore.open(history) as shared:
        [local_run] = local.runs("scan")
        queued_run = shared.get_run(run_id)
        assert queued_run is not None and queued_run.status == local_run.status
        assert queued_run.summary == local_run.summary
        assert _rows(shared.scan_results(run_id), SCAN_FIELDS) == _rows(
            local.scan_results(local_run.id), SCAN_FIELDS
        )
        assert _rows(shared.findings_for_run(run_id), FINDING_FIELDS) == _rows(
            local.findings_for_run(local_run.id), FINDING_FIELDS
        )

    inline = tmp_path / "inline.toml"
    inline.write_text(f'[[targets]]\nname = "x"\ndsn = "{fleet[0].dsn()}"\n')
    with pytest.raises(UsageError, match="cannot be queued"):
        runner.invoke(app, ["worker", "enqueue-scan", "--queue-dsn", queue, "--targets",
                            str(inline), "--history", history], env=base,
                      catch_exceptions=False)  # fmt: skip
