"""The history store's API, on SQLite and on a real PostgreSQL 15."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from vecpatch.history import (
    ApplyStepRecord,
    FindingRecord,
    HistoryError,
    HistoryStore,
    RolloutStateRecord,
    ScanRecord,
    StageCaseRecord,
)

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_runs_lifecycle(store: HistoryStore) -> None:
    first = store.start_run("scan", environment="production", started_at=T0)
    second = store.start_run("apply", started_at=T0 + timedelta(hours=1))
    store.finish_run(first, "ok", {"databases": 3}, finished_at=T0 + timedelta(minutes=2))
    (run,) = store.runs(kind="scan")
    assert (run.id, run.status, run.environment) == (first, "ok", "production")
    assert run.summary == {"databases": 3}
    assert run.started_at == T0 and run.started_at.tzinfo is not None
    assert run.finished_at == T0 + timedelta(minutes=2)
    assert [r.id for r in store.runs()] == [first, second]
    assert [r.id for r in store.runs(since=T0 + timedelta(minutes=30))] == [second]
    assert store.get_run(second) is not None and store.get_run("nope") is None
    with pytest.raises(HistoryError):
        store.finish_run("nope", "ok")
    with pytest.raises(HistoryError):
        store.start_run("dance")  # type: ignore[arg-type]


def test_timestamps_are_normalised_to_utc(store: HistoryStore) -> None:
    berlin = timezone(timedelta(hours=1))
    run = store.start_run("watch", started_at=datetime(2026, 3, 1, 13, 0, tzinfo=berlin))
    got = store.get_run(run)
    assert got is not None and got.started_at == T0 and got.started_at.utcoffset() == timedelta(0)
    with pytest.raises(Exception, match="naive"):
        store.start_run("watch", started_at=datetime(2026, 3, 1))


def test_scans_and_latest(store: HistoryStore) -> None:
    old = store.start_run("scan", started_at=T0)
    new = store.start_run("scan", started_at=T0 + timedelta(days=1))
    store.record_scan_results(
        [
            ScanRecord(run_id=old, target="a", database="app", reachable=True,
                       pgvector_installed="0.8.0", facts={"k": 1}),
            ScanRecord(run_id=old, target="b", database=None, reachable=False, reason="timeout"),
        ]
    )  # fmt: skip
    store.record_scan_result(
        ScanRecord(run_id=new, target="a", database="app", reachable=True,
                   pgvector_installed="0.8.1", pg_version="15.8", environment="prod")
    )  # fmt: skip
    assert len(store.scan_results(old)) == 2
    latest = {(r.target, r.database): r for r in store.latest_scan_results()}
    assert latest[("a", "app")].pgvector_installed == "0.8.1"
    assert latest[("a", "app")].run_id == new
    assert latest[("b", None)].reason == "timeout"
    assert latest[("a", "app")].recorded_at is not None


def test_findings(store: HistoryStore) -> None:
    run = store.start_run("scan")
    found = [
        FindingRecord(run_id=run, target="a", database="app", kind="vulnerable",
                      advisory_id="CVE-2026-3172", severity="high", affected=True, exposed=True,
                      fix_version="0.8.2", fix_available_at=T0, installed_version="0.8.1",
                      payload={"why": "parallel HNSW build"}),
        FindingRecord(run_id=run, target="a", database="app", kind="update-available", muted=True),
    ]  # fmt: skip
    assert store.record_findings(found) == 2
    assert store.record_findings([]) == 0
    stored = store.findings_for_run(run)
    assert [f.kind for f in stored] == ["vulnerable", "update-available"]
    assert stored[0].fix_available_at == T0 and stored[0].payload == {"why": "parallel HNSW build"}
    assert stored[1].muted and not stored[1].affected


def test_stage_apply_and_rollout(store: HistoryStore) -> None:
    stage = store.start_run("stage")
    store.record_stage_case(
        StageCaseRecord(run_id=stage, case_id="recall-hnsw", category="regression",
                        critical=True, verdict="pass", duration=1.5, detail={"recall": 0.98})
    )  # fmt: skip
    (case,) = store.stage_cases(stage)
    assert (case.case_id, case.verdict, case.detail) == ("recall-hnsw", "pass", {"recall": 0.98})
    apply = store.start_run("apply")
    store.record_apply_step(
        ApplyStepRecord(run_id=apply, target="a", database="app", step="alter", outcome="ok",
                        started_at=T0, duration=0.2)
    )  # fmt: skip
    (step,) = store.apply_steps(apply)
    assert (step.step, step.started_at, step.duration) == ("alter", T0, 0.2)
    rollout = store.start_run("rollout")
    store.set_rollout_state(RolloutStateRecord(rollout_id=rollout, target="a", state="pending"))
    store.set_rollout_state(
        RolloutStateRecord(rollout_id=rollout, target="a", state="done", wave=1)
    )
    (state,) = store.rollout_states(rollout)
    assert (state.state, state.wave) == ("done", 1)


def test_incidents(store: HistoryStore) -> None:
    first = store.add_incident("recall dropped", source="apply", target="a", opened_at=T0)
    second = store.add_incident("manual note", opened_at=T0 + timedelta(hours=1))
    assert [i.id for i in store.list_incidents(open_only=True)] == [first, second]
    assert store.close_incident(first, closed_at=T0 + timedelta(hours=2))
    assert not store.close_incident(first)
    assert not store.close_incident("missing")
    assert [i.id for i in store.list_incidents(open_only=True)] == [second]
    closed = store.list_incidents()[0]
    assert closed.source == "apply" and closed.closed_at == T0 + timedelta(hours=2)


def test_first_seen_keeps_the_earliest(store: HistoryStore) -> None:
    assert store.first_seen("release", "0.8.2") is None
    assert store.record_first_seen("release", "0.8.2", T0) == T0
    assert store.record_first_seen("release", "0.8.2", T0 + timedelta(days=3)) == T0
    earlier = T0 - timedelta(days=1)
    assert store.record_first_seen("release", "0.8.2", earlier) == earlier
    assert store.record_first_seen("advisory", "0.8.2", T0) == T0  # kinds are separate
    assert store.first_seen("release", "0.8.2") == earlier


def test_notifications_dedup(store: HistoryStore) -> None:
    assert not store.notification_seen("CVE-1:orders")
    assert store.mark_notified("CVE-1:orders", channel="mailto")
    assert not store.mark_notified("CVE-1:orders", channel="mailto")
    assert store.notification_seen("CVE-1:orders")


SENTINEL = "S3ntinel-pw-7f2c"


def test_secrets_are_redacted_before_storage(history_url: str) -> None:
    with HistoryStore.open(history_url, secrets=["bare-" + SENTINEL]) as store:
        run = store.start_run("scan")
        dsn = f"postgresql://vecpatch:{SENTINEL}@db1/postgres"
        store.record_scan_result(
            ScanRecord(run_id=run, target="a", database="postgres", reachable=False,
                       reason=f"connection to {dsn} failed",
                       facts={"dsn": dsn, "password": SENTINEL, "note": f"bare-{SENTINEL}"})
        )  # fmt: skip
        store.record_findings(
            [FindingRecord(run_id=run, target="a", database=None, kind="x",
                           payload={"conninfo": f"host=db1 password={SENTINEL}"})]
        )  # fmt: skip
        store.finish_run(run, "failed", {"error": dsn})
        with store.engine.connect() as conn:
            dump = " ".join(
                str(row)
                for table in ("runs", "scan_results", "findings")
                for row in conn.execute(text(f"SELECT * FROM {table}"))  # noqa: S608
            )
        assert SENTINEL not in dump
        assert "vecpatch:***@db1" in dump


def test_bad_location_is_a_clear_error(tmp_path: object) -> None:
    with pytest.raises(HistoryError, match="cannot open history store") as caught:
        HistoryStore.open("postgresql://u:hunter2@127.0.0.1:1/none?connect_timeout=2")
    assert "hunter2" not in caught.value.message
