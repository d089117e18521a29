"""The formulas doc, the alert rules and the Grafana dashboard name only metrics that
exist, and the doc names every one; the static report needs nothing from the network."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml
from prometheus_client.parser import text_string_to_metric_families
from typer.testing import CliRunner

from vecpatch.catalog.store import load_catalog
from vecpatch.cli.main import app
from vecpatch.history import ApplyStepRecord, FindingRecord, HistoryStore, ScanRecord
from vecpatch.history.records import StageCaseRecord
from vecpatch.metrics import METRIC_KEYS, Period, compute_metrics, load_history
from vecpatch.metrics.prometheus import exposition

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 9, 1, tzinfo=UTC)
NAME = re.compile(r"\bvecpatch_[a-z_]+")


def _record(store: HistoryStore) -> None:
    scan = store.start_run("scan", environment="prod", started_at=T0)
    store.record_scan_result(
        ScanRecord(run_id=scan, target="t", database="d", reachable=True, environment="prod",
                   pgvector_installed="0.7.4", pgvector_default="0.8.5")
    )  # fmt: skip
    store.record_findings(
        [FindingRecord(run_id=scan, target="t", database="d", kind="VULNERABLE",
                       advisory_id="CVE-2026-3172", severity="high", affected=True, exposed=True,
                       fix_version="0.8.2", fix_available_at=T0 - timedelta(days=3))]
    )  # fmt: skip
    store.finish_run(scan, "ok", {})
    stage = store.start_run("stage", started_at=T0 + timedelta(hours=1))
    store.record_stage_case(StageCaseRecord(run_id=stage, case_id="c", category="compatibility",
                                            critical=True, verdict="pass"))  # fmt: skip
    store.finish_run(stage, "pass", {})
    apply = store.start_run("apply", started_at=T0 + timedelta(hours=2))
    store.record_apply_step(
        ApplyStepRecord(run_id=apply, target="t", database="d", step="update", outcome="ok",
                        started_at=T0 + timedelta(hours=2), duration=1.0, detail={"to": "0.8.5"})
    )  # fmt: skip
    store.finish_run(apply, "applied", {"outcome": "applied"})


def _emitted(tmp_path: Path) -> set[str]:
    with HistoryStore.open(f"sqlite:///{tmp_path / 'h.db'}") as store:
        _record(store)
        data = load_history(store)
    data = type(data)(**{**data.__dict__, "release_dates": {"pgvector:0.8.5": T0.date()}})
    metrics = compute_metrics(data, Period(until=T0 + timedelta(days=1)))
    text = exposition(data, metrics, load_catalog(offline=True)).decode()
    families = list(text_string_to_metric_families(text))
    return {f.name for f in families} | {s.name for f in families for s in f.samples}


def test_doc_names_every_metric_and_examples_only_real_ones(tmp_path: Path) -> None:
    emitted = _emitted(tmp_path)
    doc = (ROOT / "docs" / "metrics.md").read_text()
    for key in METRIC_KEYS:
        assert f"`{key}`" in doc
    names = {n.removesuffix("_total") for n in emitted}
    documented = {n.removesuffix("_total") for n in NAME.findall(doc)}
    assert names <= documented, names - documented
    alerts = yaml.safe_load((ROOT / "examples/prometheus/vecpatch-alerts.yml").read_text())
    exprs = [r["expr"] for g in alerts["groups"] for r in g["rules"]]
    grafana = json.loads((ROOT / "examples/grafana/vecpatch-dashboard.json").read_text())
    exprs += [t["expr"] for p in grafana["panels"] for t in p["targets"]]
    used = {n for e in exprs for n in NAME.findall(str(e))}
    assert used and used <= emitted, used - emitted


def test_static_report_is_self_contained(tmp_path: Path) -> None:
    history = f"sqlite:///{tmp_path / 'h.db'}"
    with HistoryStore.open(history) as store:
        _record(store)
    out = tmp_path / "report.html"
    result = CliRunner().invoke(
        app, ["report", "--since", "all", "--html", str(out), "--history", history],
        env={"VECPATCH_TARGETS": ""}, catch_exceptions=False,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    html = out.read_text()
    assert 'id="chart-windows"' in html and 'id="chart-cadence"' in html and "<svg" in html
    assert 'id="fleet"' in html and "CVE-2026-3172" in html
    assert not re.search(r"""(src|href)=["']https?://""", html)
    assert "<script" not in html
