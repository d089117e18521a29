"""``--clone-from``: a sandbox shaped like production with a sample of every vector table."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vecpatch.cli.main import app
from vecpatch.sandbox import Sandbox, list_sandboxes

pytestmark = [pytest.mark.slow, pytest.mark.sandbox]


def test_clone_from_production_samples_and_stages(
    fresh_sandbox: Callable[..., Sandbox], tmp_path: Path
) -> None:
    prod = fresh_sandbox("16.4", "0.7.4", sample=True, rows=1000)
    before = {s.name for s in list_sandboxes()}
    out = tmp_path / "report.json"
    args = ["stage", "--clone-from", prod.dsn(), "--to", "0.8.5", "--sample-rows", "300"]
    args += ["--perf-queries", "10", "--no-rollback-drill", "--history", str(tmp_path / "h.db")]
    result = CliRunner().invoke(app, [*args, "-f", "json", "-o", str(out)])
    doc = json.loads(out.read_text())
    failing = [(c["id"], c["why"]) for c in doc["cases"] if c["verdict"] in ("fail", "error")]
    assert result.exit_code == 0, (failing, result.output)
    notes = " ".join(doc["staging"]["notes"])
    assert "nearest available pair 16.4 / 0.7.4" in notes
    assert "public.items: 300 of ~1000 rows sampled" in notes
    assert doc["staging"]["kind"] == "clone"
    cases = {c["id"] for c in doc["cases"]}
    assert "performance.recall.public.items_embedding_hnsw" in cases  # indexes came along
    assert prod._password() not in out.read_text() + result.output
    # production is untouched, and the clone is gone
    assert prod.run_sql("SELECT extversion FROM pg_extension WHERE extname = 'vector'") == [
        ("0.7.4",)
    ]
    assert prod.run_sql("SELECT count(*) FROM items") == [(1000,)]
    assert {s.name for s in list_sandboxes()} == before
