"""``vecpatch stage`` on real sandboxes: the default plan passes 0.7.4 -> 0.8.5, and fails,
naming the failing case, for each way an update is known to go wrong.

Small tables (1,000-1,500 rows) and few queries per index keep the module quick; every
sandbox is fresh because staging changes its packages and data.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from typer.testing import CliRunner

from vecpatch.catalog.store import load_catalog
from vecpatch.cli.main import app
from vecpatch.errors import UsageError
from vecpatch.history.store import HistoryStore
from vecpatch.plan import PlanPolicy, Policy
from vecpatch.sandbox import Sandbox
from vecpatch.scan import ScanOptions, probe
from vecpatch.stage import StageOptions, StageReport, Verdict, from_sandbox, perf, run_stage
from vecpatch.stage.model import CaseResult, Category
from vecpatch.stage.phase import Phase, Workload
from vecpatch.stage.render import StageFormat, render
from vecpatch.stage.runner import confirm_latency
from vecpatch.stage.testplan import load_plan
from vecpatch.targets import targets_from_args

pytestmark = [pytest.mark.slow, pytest.mark.sandbox]

TO = PlanPolicy(Policy.PINNED, "0.8.5")
QUERIES = (
    "-- name: category-of-1\nSELECT category FROM items WHERE id = 1;\n"
    "-- name: nearest\nSELECT id FROM items ORDER BY embedding <-> "
    "(SELECT embedding FROM items WHERE id = 7) LIMIT 10;\n"
    "SELECT count(*), sum(category) FROM items;\n"
)


def stage(sb: Sandbox, tmp_path: Path, **kwargs: object) -> StageReport:
    opts = StageOptions(policy=TO, perf_queries=15, rollback_drill=False, **kwargs)  # type: ignore[arg-type]
    with HistoryStore.open(str(tmp_path / "history.db")) as store:
        return run_stage(from_sandbox(sb, "test", None), opts, load_catalog(), store)


def failed_ids(report: StageReport) -> list[str]:
    return [c.id for c in report.critical_failures]


def test_default_plan_passes_0_7_4_to_0_8_5(
    fresh_sandbox: Callable[..., Sandbox], tmp_path: Path
) -> None:
    sb = fresh_sandbox("16.4", "0.7.4", sample=True, rows=1500)
    queries = tmp_path / "queries.sql"
    queries.write_text(QUERIES)
    out = tmp_path / "report.json"
    history = tmp_path / "history.db"
    args = ["stage", "--sandbox", sb.name, "--to", "0.8.5", "--queries", str(queries)]
    args += ["--perf-queries", "20", "--history", str(history), "-f", "json", "-o", str(out)]
    result = CliRunner().invoke(app, args)
    doc = json.loads(out.read_text())
    failing = [(c["id"], c["why"]) for c in doc["cases"] if c["verdict"] in ("fail", "error")]
    assert result.exit_code == 0, (failing, result.output)
    assert (doc["from"], doc["to"], doc["verdict"]) == ("0.7.4", "0.8.5", "pass")
    assert doc["coverage"] == 1.0
    cases = {c["id"]: c for c in doc["cases"]}
    for cid in ("compatibility.update", "compatibility.schema-parity", "functionality.halfvec",
                "functionality.iterative-scan", "functionality.index-builds",
                "regression.category-of-1", "regression.nearest",
                "performance.recall.public.items_embedding_hnsw",
                "performance.latency.public.items_embedding_hnsw"):  # fmt: skip
        assert cases[cid]["verdict"] == "pass", cases[cid]
    assert {c["category"] for c in doc["cases"]} == {
        "compatibility", "functionality", "regression", "performance"
    }  # fmt: skip
    assert all(c["why"] for c in doc["cases"])
    drill = doc["rollback_drill"]
    assert drill["outcome"] == "restored" and drill["restore_seconds"] > 0
    assert sb.run_sql("SELECT extversion FROM pg_extension WHERE extname = 'vector'") == [
        ("0.7.4",)
    ]
    assert sb._password() not in out.read_text() + result.output
    with HistoryStore.open(str(history)) as store:
        run = store.get_run(doc["run_id"])
        assert run is not None and run.kind == "stage" and run.status == "passed"
        assert run.summary is not None and run.summary["coverage"] == 1.0
        assert len(store.stage_cases(doc["run_id"])) == len(doc["cases"])


def test_reports_render_in_every_format(
    fresh_sandbox: Callable[..., Sandbox], tmp_path: Path
) -> None:
    sb = fresh_sandbox("16.4", "0.7.4", sample=True, rows=1000)
    post = _sql(tmp_path, "ALTER DATABASE postgres SET hnsw.ef_search = 4;")
    report = stage(sb, tmp_path, post_update_sql=post)
    junit = ET.fromstring(render(report, StageFormat.JUNIT))
    names = {tc.get("name") for tc in junit.iter("testcase") if tc.find("failure") is not None}
    assert "performance.recall.public.items_embedding_hnsw" in names
    page = render(report, StageFormat.HTML)
    assert page.count("<svg") == 2 and "recall@10 per index" in page
    assert "<script" not in page and 'src="http' not in page and "<link" not in page
    assert "| `performance.recall.public.items_embedding_hnsw` |" in render(
        report, StageFormat.MARKDOWN
    )


def _sql(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "post.sql"
    path.write_text(text)
    return path


def test_recall_regression_from_the_deploy_fails_naming_the_index(
    fresh_sandbox: Callable[..., Sandbox], tmp_path: Path
) -> None:
    sb = fresh_sandbox("16.4", "0.7.4", sample=True, rows=1000)
    post = _sql(tmp_path, "ALTER DATABASE postgres SET hnsw.ef_search = 4;")
    report = stage(sb, tmp_path, post_update_sql=post)
    assert report.exit_code == 1
    failed = failed_ids(report)
    assert "performance.recall.public.items_embedding_hnsw" in failed
    case = report.case("performance.recall.public.items_embedding_hnsw")
    assert case is not None and "hnsw.ef_search=4" in case.why
    assert not any(f.startswith(("compatibility.", "functionality.")) for f in failed)


def test_changed_user_query_result_fails_naming_the_query(
    fresh_sandbox: Callable[..., Sandbox], tmp_path: Path
) -> None:
    sb = fresh_sandbox("16.4", "0.7.4", sample=True, rows=1000)
    queries = tmp_path / "queries.sql"
    queries.write_text(QUERIES)
    post = _sql(tmp_path, "UPDATE items SET category = category + 100 WHERE id = 1;")
    report = stage(sb, tmp_path, queries_file=queries, post_update_sql=post)
    assert report.exit_code == 1
    assert "regression.category-of-1" in failed_ids(report)
    case = report.case("regression.category-of-1")
    assert case is not None and "row 1" in case.why
    nearest = report.case("regression.nearest")
    assert nearest is not None and nearest.verdict is Verdict.PASS


def test_old_library_under_newer_catalog_fails(
    fresh_sandbox: Callable[..., Sandbox], tmp_path: Path
) -> None:
    sb = fresh_sandbox("16.4", "0.7.4", sample=True, rows=1000)
    report = stage(sb, tmp_path, after_package=lambda: sb.swap_vector_library("0.6.2"))
    assert report.exit_code == 1
    failed = failed_ids(report)
    assert "compatibility.update" in failed and "compatibility.library-loads" in failed
    case = report.case("compatibility.library-loads")
    assert case is not None and "could not find function" in case.why
    assert sb.run_sql("SELECT extversion FROM pg_extension WHERE extname = 'vector'") == [
        ("0.7.4",)
    ]


def test_library_for_another_major_fails(
    fresh_sandbox: Callable[..., Sandbox], tmp_path: Path
) -> None:
    sb = fresh_sandbox("16.4", "0.7.4", sample=True, rows=1000)
    report = stage(sb, tmp_path, after_package=lambda: sb.swap_vector_library("0.8.5", pg_major=18))
    assert report.exit_code == 1
    assert {"compatibility.update", "compatibility.library-loads"} <= set(failed_ids(report))
    case = report.case("compatibility.library-loads")
    assert case is not None and "incompatible library" in case.why


def test_no_update_path_fails_and_changes_nothing(
    fresh_sandbox: Callable[..., Sandbox], tmp_path: Path
) -> None:
    sb = fresh_sandbox("16.4", "0.7.4", sample=True, rows=1000)
    out = tmp_path / "report.json"
    args = ["stage", "--sandbox", sb.name, "--to", "0.6.2", "--history", str(tmp_path / "h.db"),
            "-f", "json", "-o", str(out)]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1, result.output
    doc = json.loads(out.read_text())
    assert doc["failed_critical"] == ["compatibility.update-path"]
    assert "no downgrade scripts" in doc["cases"][0]["why"]
    assert sb.run_sql("SELECT extversion FROM pg_extension WHERE extname = 'vector'") == [
        ("0.7.4",)
    ]


@pytest.mark.parametrize(
    "args",
    [
        ["--to", "0.8.5"],
        ["--sandbox", "a", "--staging", "host=x", "--to", "0.8.5"],
        ["--sandbox", "a", "--to", "0.8.5", "--policy", "latest-patch"],
    ],
)
def test_usage_errors_exit_2(args: list[str]) -> None:
    with pytest.raises(UsageError) as raised:
        CliRunner().invoke(app, ["stage", *args], catch_exceptions=False)
    assert raised.value.exit_code == 2


def test_staging_dsn_with_package_hook_and_drill(
    fresh_sandbox: Callable[..., Sandbox], tmp_path: Path
) -> None:
    """A staging DSN: the package step (and the drill's old package) through the hook."""
    sb = fresh_sandbox("16.4", "0.7.4", sample=True, rows=1000)
    vecpatch = Path(sys.executable).parent / "vecpatch"
    hook = f"{vecpatch} sandbox install-extension {sb.name} {{version}}"
    out = tmp_path / "report.json"
    args = ["stage", "--staging", sb.dsn(), "--to", "0.8.5", "--package-hook", hook]
    args += ["--pg-bin", str(sb.bin_dir), "--perf-queries", "10", "--history", str(tmp_path / "h")]
    result = CliRunner().invoke(app, [*args, "-f", "junit", "-o", str(out)])
    assert result.exit_code == 0, result.output
    suites = ET.fromstring(out.read_text())
    # Timings on a 1,000-row table under a parallel test run are noise; their verdicts are
    # tested on their own. Everything else must pass.
    failed = [
        name
        for tc in suites.iter("testcase")
        if tc.find("failure") is not None
        and not (name := str(tc.get("name"))).startswith(
            ("performance.latency", "performance.build-time")
        )
    ]
    assert failed == [], out.read_text()
    package = next(
        tc for tc in suites.iter("testcase") if tc.get("name") == "compatibility.package"
    )
    assert package.find("failure") is None and package.find("skipped") is None
    drill = next(
        tc for tc in suites.iter("testcase") if (tc.get("name") or "").endswith("rollback-drill")
    )
    assert drill.find("failure") is None
    assert sb.run_sql("SELECT extversion FROM pg_extension WHERE extname = 'vector'") == [
        ("0.7.4",)
    ]
    assert sb._password() not in out.read_text() + result.output


def test_a_latency_failure_must_reproduce_to_count(
    fresh_sandbox: Callable[..., Sandbox],
) -> None:
    """A failing latency case is measured again; a burst of contention does not fail a run."""
    sb = fresh_sandbox("16.4", "0.7.4", sample=True, rows=1000)
    staging = from_sandbox(sb, "test", None)
    [facts] = probe(targets_from_args([sb.dsn()]), ScanOptions())
    idx = next(i for i in facts.databases[0].indexes if i.name == "items_embedding_hnsw")
    name = perf.label(idx)
    work = Workload(load_plan(), (), (idx,), {name: perf.sample_queries(staging.endpoint, idx, 10)})
    before = Phase(
        "0.7.4", indexes={name: perf.measure(staging.endpoint, idx, work.samples[name], 10, 0)}
    )
    noisy = CaseResult(
        f"performance.latency.{name}", Category.PERFORMANCE, True, Verdict.FAIL,
        "p95 0.40 -> 9.00 ms", check="index-latency",
    )  # fmt: skip
    [confirmed] = confirm_latency(staging, work, before, [noisy])
    assert confirmed.verdict is Verdict.PASS, confirmed.why
    assert "re-measured; first measurement: p95 0.40 -> 9.00 ms" in confirmed.why
