"""The metrics from a history recorded by real scans, stage runs and applies equal values
computed by hand from the raw records, on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from vecpatch.apply import Outcome
from vecpatch.catalog.store import load_catalog
from vecpatch.findings import severity_rank
from vecpatch.history import FindingRecord, HistoryStore
from vecpatch.metrics import Metrics, Objectives, Period, Scope, compute_metrics, load_history
from vecpatch.metrics.prometheus import exposition
from vecpatch.sandbox.testing import SandboxFactory

from .scenario import Fresh, Scenario, cli, record_scenario

pytestmark = [pytest.mark.slow, pytest.mark.sandbox]

DAY = 86_400.0
FIX_3172 = datetime(2026, 2, 25, tzinfo=UTC)  # pgvector 0.8.2's release date
RELEASE_085 = datetime(2026, 7, 8, tzinfo=UTC)


@pytest.fixture(scope="module")
def scenario(
    history_url: str, sandbox_factory: SandboxFactory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Scenario]:
    fresh = Fresh(sandbox_factory)
    try:
        yield record_scenario(history_url, tmp_path_factory.mktemp("scenario"), fresh)
    finally:
        fresh.close()


@pytest.fixture(scope="module")
def now(scenario: Scenario) -> datetime:
    return datetime.now(UTC) + timedelta(hours=1)


@pytest.fixture(scope="module")
def computed(scenario: Scenario, now: datetime) -> Metrics:
    with HistoryStore.open(scenario.history) as store:
        data = load_history(store, load_catalog(offline=True))
    return compute_metrics(data, Period(until=now, since=now - timedelta(days=30)))


def _exposures(store: HistoryStore, run_id: str) -> dict[tuple[str, str], FindingRecord]:
    """(target, advisory) -> finding, for exposed unmuted VULNERABLE findings with a fix.
    Every target of the scenario has one database, so the target names the database."""
    return {
        (f.target, str(f.advisory_id)): f
        for f in store.findings_for_run(run_id)
        if f.kind == "VULNERABLE" and f.exposed and not f.muted and f.fix_version
    }


def test_the_scenario_happened(scenario: Scenario) -> None:
    assert scenario.good.outcome is Outcome.APPLIED
    assert scenario.bad.outcome is Outcome.FAILED


def test_success_rate_counts_the_failed_apply(scenario: Scenario, computed: Metrics) -> None:
    doc = computed.to_dict()["production_update_success_rate"]
    assert (doc["attempts"], doc["succeeded"], doc["failed"]) == (2, 1, 1)
    assert doc["value"] == 0.5
    assert doc["met"] is False
    [failure] = doc["failures"]
    assert failure["run_id"] == scenario.bad.run_id
    assert failure["target"] == "bravo"
    assert "step update failed" in failure["problems"] and "incident" in failure["problems"]


def test_staging_coverage_is_the_last_stage_run_before_each_apply(
    scenario: Scenario, computed: Metrics
) -> None:
    doc = computed.to_dict()["staging_test_coverage"]
    got = [(a["apply_run_id"], a["stage_run_id"], a["ratio"]) for a in doc["applies"]]
    assert got == [
        (scenario.good.run_id, scenario.stage_runs[0], 4 / 4),
        (scenario.bad.run_id, scenario.stage_runs[1], 3 / 4),
    ]
    assert doc["value"] == {"mean": 0.875, "min": 0.75, "applies": 2}
    assert doc["met"] is False


def test_cadence_is_release_date_to_committed_update(scenario: Scenario, computed: Metrics) -> None:
    with HistoryStore.open(scenario.history) as store:
        [update] = [s for s in store.apply_steps(scenario.good.run_id) if s.step == "update"]
    assert update.started_at is not None and update.duration is not None
    applied = update.started_at + timedelta(seconds=update.duration)
    lag = (applied - RELEASE_085).total_seconds()
    doc = computed.to_dict()["update_cadence"]
    [event] = doc["events"]
    assert (event["target"], event["database"], event["version"]) == ("alpha", "postgres", "0.8.5")
    assert event["class"] == "security"  # scan 1 showed CVE-2026-3172 with a fix
    assert event["seconds"] == pytest.approx(lag, abs=1e-3)
    assert doc["value"]["security"]["median"] == pytest.approx(lag, abs=1e-3)
    assert doc["value"]["security"]["p90"] == pytest.approx(lag, abs=1e-3)
    assert doc["value"]["other"]["count"] == 0
    assert doc["met"] is False  # about 140 days, not 7


def test_vulnerability_windows_open_and_closed(
    scenario: Scenario, computed: Metrics, now: datetime
) -> None:
    with HistoryStore.open(scenario.history) as store:
        scan2_at = store.get_run(scenario.scan_runs[1]).started_at  # type: ignore[union-attr]
        first = _exposures(store, scenario.scan_runs[0])
        second = _exposures(store, scenario.scan_runs[1])
    assert set(second) <= set(first)
    expected = sorted(
        (
            target,
            adv,
            key not in second,
            ((scan2_at if key not in second else now) - f.fix_available_at).total_seconds(),  # type: ignore[operator]
        )
        for key, f in first.items()
        for target, adv in [key]
    )
    doc = computed.to_dict()["vulnerability_window"]
    got = sorted(
        (w["target"], w["advisory_id"], not w["open"], w["seconds"]) for w in doc["windows"]
    )
    assert [g[:3] for g in got] == [e[:3] for e in expected]
    for g, e in zip(got, expected, strict=True):
        assert g[3] == pytest.approx(e[3], abs=1e-3)
    by_key = {(w["target"], w["advisory_id"]): w for w in doc["windows"]}
    closed = by_key[("alpha", "CVE-2026-3172")]
    assert closed["closed_at"] == scan2_at.isoformat() and closed["closed_by"] == "fixed"
    assert closed["seconds"] == pytest.approx((scan2_at - FIX_3172).total_seconds(), abs=1e-3)
    still = by_key[("charlie", "CVE-2026-3172")]
    assert still["open"] is True and still["closed_by"] is None
    assert still["seconds"] == pytest.approx((now - FIX_3172).total_seconds(), abs=1e-3)
    assert doc["open"] == sum(1 for e in expected if not e[2])
    assert doc["closed"] == sum(1 for e in expected if e[2])
    assert doc["met"] is False


def test_incidents_and_exposure(scenario: Scenario, computed: Metrics) -> None:
    doc = computed.to_dict()
    incidents = doc["security_incidents"]
    assert incidents["value"] == 1 and incidents["met"] is False
    assert incidents["by_source"] == {"apply": 1, "manual": 1}
    assert incidents["by_advisory"] == {"CVE-2026-3172": 1}
    with HistoryStore.open(scenario.history) as store:
        findings = store.findings_for_run(scenario.scan_runs[1])
    worst: dict[tuple[str, bool], str] = {}
    for f in findings:
        if not (f.kind == "VULNERABLE" and f.exposed and not f.muted and f.severity):
            continue
        # highest severity; "unknown" ranks as high, and a known "high" names a tie better
        key = (f.target, f.database is None)  # a server's findings count for the server only
        rank = (severity_rank(f.severity), f.severity != "unknown")
        if key not in worst or rank > (severity_rank(worst[key]), worst[key] != "unknown"):
            worst[key] = f.severity
    exposure = doc["exposure"]
    databases = {t: s for (t, server), s in worst.items() if not server}
    servers = {t: s for (t, server), s in worst.items() if server}
    assert exposure["value"] == len(databases) and exposure["databases"] == 3
    assert {e["target"]: e["severity"] for e in exposure["exposed"]} == databases
    assert "CVE-2026-3172" in next(
        e for e in exposure["exposed"] if e["target"] == "charlie"
    )["advisories"]
    assert exposure["servers"]["total"] == 3
    assert {e["targets"][0]: e["severity"] for e in exposure["servers"]["exposed"]} == servers


def test_cli_json_has_one_entry_per_metric(scenario: Scenario) -> None:
    text = cli("metrics", "--format", "json", "--history", scenario.history, env=scenario.env)
    doc = json.loads(text)
    assert sorted(doc) == sorted(
        ["update_cadence", "staging_test_coverage", "production_update_success_rate",
         "vulnerability_window", "security_incidents", "exposure"]
    )  # fmt: skip
    for entry in doc.values():
        assert {"value", "period", "target", "met"} <= set(entry)
    assert doc["production_update_success_rate"]["value"] == 0.5
    markdown = cli("metrics", "-f", "markdown", "--history", scenario.history, env=scenario.env)
    assert "| Production update success rate | 50.0 % | ≥ 99 % | MISSED |" in markdown


def test_targets_are_configurable(scenario: Scenario, tmp_path: Path) -> None:
    args = ["metrics", "-f", "json", "--history", scenario.history]
    loose = json.loads(
        cli(*args, "--objective", "security_days=200", "--objective", "success_ratio=0.5",
            env=scenario.env)
    )  # fmt: skip
    assert loose["update_cadence"]["met"] is True
    assert loose["production_update_success_rate"]["met"] is True
    targets = tmp_path / "targets.toml"
    targets.write_text(
        scenario.targets.read_text() + "\n[settings.metrics]\ncoverage_ratio = 0.75\n"
    )
    from_file = json.loads(cli(*args, "--targets", str(targets), env=scenario.env))
    assert from_file["staging_test_coverage"]["met"] is True
    assert from_file["staging_test_coverage"]["target"] == {"min_ratio": 0.75}


def test_environment_scope(scenario: Scenario, now: datetime) -> None:
    with HistoryStore.open(scenario.history) as store:
        data = load_history(store, load_catalog(offline=True))
    period = Period(until=now)
    production = compute_metrics(data, period, Objectives(), Scope("production"))
    staging = compute_metrics(data, period, Objectives(), Scope("staging"))
    assert production.production_update_success_rate.ratio == 0.5
    assert staging.production_update_success_rate.attempts == ()
    assert staging.exposure.rows == ()


def test_prometheus_exposition_parses(scenario: Scenario, computed: Metrics) -> None:
    with HistoryStore.open(scenario.history) as store:
        data = load_history(store, load_catalog(offline=True))
    text = exposition(data, computed).decode()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    [ratio] = families["vecpatch_update_success_ratio"].samples
    assert ratio.value == 0.5
    info = {
        (s.labels["target"], s.labels["installed"], s.labels["on_disk"])
        for s in families["vecpatch_pgvector_databases"].samples
    }
    assert {("alpha", "0.8.5", "0.8.5"), ("bravo", "0.7.4", "0.8.5")} <= info
    assert any(t == "charlie" and i == "0.6.2" for t, i, _d in info)
    opened = families["vecpatch_open_vulnerability_windows"].samples
    assert sum(s.value for s in opened) == sum(
        1 for w in computed.vulnerability_window.windows if w.is_open
    )
    up = {s.labels["target"]: s.value for s in families["vecpatch_target_up"].samples}
    assert up == {"alpha": 1.0, "bravo": 1.0, "charlie": 1.0}
    assert {s.name for s in families["vecpatch_update_attempts"].samples} == {
        "vecpatch_update_attempts_total"
    }
    high = [
        s for s in families["vecpatch_exposed_databases"].samples if s.labels["severity"] == "high"
    ]
    assert high[0].value == computed.exposure.by_severity().get("high", 0)
    assert any(s.labels["kind"] == "VULNERABLE" for s in families["vecpatch_findings"].samples)
    assert "password" not in text.lower() and scenario.env["PW_ALPHA"] not in text
