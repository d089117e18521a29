"""Staging verdicts on real sandboxes that must not lie in either direction (issue 16).

Each test is one way a stage used to pass when it should not have: an error that went
away, a slower index, an old library under the new catalog, nothing staged at all, and
a drill that broke the database next door.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vecpatch.catalog.store import load_catalog
from vecpatch.cli.main import app
from vecpatch.history.store import HistoryStore
from vecpatch.plan import PlanPolicy, Policy
from vecpatch.sandbox import Sandbox
from vecpatch.stage import StageOptions, StageReport, Verdict, from_sandbox, run_stage
from vecpatch.stage.binding import bind
from vecpatch.stage.model import Outcome
from vecpatch.stage.queries import query_of

pytestmark = [pytest.mark.slow, pytest.mark.sandbox]


def stage(sb: Sandbox, tmp_path: Path, to: str = "0.8.5", **kwargs: object) -> StageReport:
    opts = StageOptions(policy=PlanPolicy(Policy.PINNED, to), perf_queries=20,
                        rollback_drill=False, **kwargs)  # type: ignore[arg-type]  # fmt: skip
    with HistoryStore.open(str(tmp_path / "history.db")) as store:
        return run_stage(from_sandbox(sb, "test", None), opts, load_catalog(), store)


def _file(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_an_error_that_goes_away_is_a_change_that_fails(
    fresh_sandbox: Callable[..., Sandbox], tmp_path: Path
) -> None:
    sb = fresh_sandbox("16.2", "0.6.2", sample=True, rows=300)
    text = "-- name: cross-dim\nSELECT '[1,2]'::vector < '[1,2,3]'::vector;\n"
    queries = _file(tmp_path, "q.sql", text + "-- name: same\nSELECT count(*) FROM items;\n")
    report = stage(sb, tmp_path, to="0.7.4", queries_file=queries)
    case = report.case("regression.cross-dim")
    assert case is not None and case.verdict is Verdict.FAIL, case
    assert case.why.startswith("changed: error (different vector dimensions 2 and 3")
    assert "success (1 rows" in case.why
    assert report.verdict is Outcome.FAIL and "regression.cross-dim" in [
        c.id for c in report.critical_failures
    ]
    same = report.case("regression.same")
    assert same is not None and same.verdict is Verdict.PASS


def test_a_slowed_index_fails_latency(
    fresh_sandbox: Callable[..., Sandbox], tmp_path: Path
) -> None:
    sb = fresh_sandbox("16.4", "0.7.4", sample=True, rows=3000)
    post = _file(tmp_path, "post.sql", "ALTER DATABASE postgres SET hnsw.ef_search = 1000;")
    plan = _file(tmp_path, "plan.yaml", "cases:\n  - {id: performance.latency, "
                 "expectations: {noise_floor_ms: 0.05}}\n")  # fmt: skip
    report = stage(sb, tmp_path, post_update_sql=post, plan_file=plan)
    case = report.case("performance.latency.public.items_embedding_hnsw")
    assert case is not None and case.verdict is Verdict.FAIL, case.why if case else report.cases
    assert "more than +20%" in case.why


def test_an_old_library_under_the_new_catalog_fails_library_loads(
    fresh_sandbox: Callable[..., Sandbox], tmp_path: Path
) -> None:
    sb = fresh_sandbox("16.4", "0.7.4", sample=True, rows=300)
    report = stage(sb, tmp_path, after_update=lambda: sb.swap_vector_library("0.7.4"))
    case = report.case("compatibility.library-loads")
    assert case is not None and case.verdict is Verdict.FAIL, case
    assert "C functions do not resolve" in case.why and "could not find function" in case.why
    update = report.case("compatibility.update")
    assert update is not None and update.verdict is Verdict.PASS  # the catalog is 0.8.5


def test_staging_the_installed_version_is_nothing_to_stage(
    fresh_sandbox: Callable[..., Sandbox], tmp_path: Path
) -> None:
    sb = fresh_sandbox("16.4", "0.7.4", sample=True, rows=100)
    out = tmp_path / "r.json"
    args = ["stage", "--sandbox", sb.name, "--to", "0.7.4", "--history",
            str(tmp_path / "h.db"), "-f", "json", "-o", str(out)]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    assert doc["verdict"] == "nothing-to-stage" and "stage NOTHING-TO-STAGE" in result.output
    assert not any(c["verdict"] == "pass" for c in doc["cases"] if c["critical"])
    with HistoryStore.open(str(tmp_path / "h.db")) as store:
        run = store.get_run(doc["run_id"])
    assert run is not None and run.status == "nothing-to-stage"


def test_a_drill_on_a_shared_server_leaves_the_neighbour_working(
    fresh_sandbox: Callable[..., Sandbox], tmp_path: Path
) -> None:
    sb = fresh_sandbox("16.4", "0.7.4", sample=True, rows=300)
    sb.install_extension("0.8.5")  # the package step done for the whole server
    sb.run_sql("CREATE DATABASE neighbour")
    with sb.connect("neighbour") as conn:
        conn.execute("CREATE EXTENSION vector")
        conn.execute("CREATE TABLE s AS SELECT ARRAY[1,0,2]::int[]::sparsevec AS v")
    opts = StageOptions(policy=PlanPolicy(Policy.PINNED, "0.8.5"), perf_queries=20)
    with HistoryStore.open(str(tmp_path / "history.db")) as store:
        report = run_stage(from_sandbox(sb, "test", None), opts, load_catalog(), store)
    drill = report.case("compatibility.rollback-drill")
    assert drill is not None and drill.verdict is Verdict.SKIP, drill
    assert "would break neighbour (pgvector 0.8.5)" in drill.why
    with sb.connect("neighbour") as conn:
        row = conn.execute("SELECT v::text, (ARRAY[3]::int[]::sparsevec)::text FROM s")
        assert row.fetchone() == ("{1:1,3:2}/3", "{1:3}/1")
    # The library on disk was already 0.8.5's before the baseline: before was not before.
    assert report.verdict is Outcome.INCOMPLETE
    assert any("already on disk before the baseline" in w for w in report.warnings)
    recall = report.case("performance.recall.public.items_embedding_hnsw")
    assert recall is not None and recall.verdict is Verdict.SKIP


def test_a_normalised_nearest_neighbour_statement_is_bound_to_a_vector_of_its_column(
    fresh_sandbox: Callable[..., Sandbox],
) -> None:
    sb = fresh_sandbox("16.4", "0.7.4", sample=True, rows=100)
    statement = "SELECT id FROM items WHERE category = $1 ORDER BY embedding <-> $2 LIMIT $3"
    with sb.connect() as conn:
        bound = bind(conn, statement)
        assert bound.sql is not None, bound.why
        assert bound.sql.endswith("::vector LIMIT 10") and "category = '" in bound.sql
        vector = bound.sql.split("<-> '")[1].split("'")[0]
        assert conn.execute("SELECT count(*) FROM items WHERE embedding::text = %s",
                            (vector,)).fetchone() == (1,)  # fmt: skip
        assert len(conn.execute(bound.sql).fetchall()) <= 10
        unbound = bind(conn, "SELECT id FROM items ORDER BY embedding <-> $1 + $2 LIMIT 5")
    assert unbound.sql is None and unbound.why
    assert query_of("q", bound.sql).knn
