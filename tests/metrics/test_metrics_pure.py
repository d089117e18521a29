"""The formulas on hand-built history data: edge cases a sandbox history does not reach."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from vecpatch.errors import UsageError
from vecpatch.history import ApplyStepRecord, FindingRecord, IncidentRecord, RunRecord, ScanRecord
from vecpatch.history.records import StageCaseRecord
from vecpatch.metrics import HistoryData, Objectives, Period, compute_metrics, parse_since
from vecpatch.metrics.applies import apply_attempts
from vecpatch.metrics.stats import percentile
from vecpatch.metrics.windows import vulnerability_windows

T0 = datetime(2026, 3, 1, tzinfo=UTC)
FIX = datetime(2026, 2, 25, tzinfo=UTC)
DAY = timedelta(days=1)


def _scan(run: str, at: datetime, vulnerable: bool, fix_at: datetime | None = FIX) -> tuple:
    runs = (RunRecord(id=run, kind="scan", status="ok", started_at=at),)
    rows = (ScanRecord(run_id=run, target="t", database="d", reachable=True, environment="prod"),)
    findings = (
        (FindingRecord(run_id=run, target="t", database="d", kind="VULNERABLE", advisory_id="A",
                       severity="high", affected=True, exposed=True, fix_version="0.8.2",
                       fix_available_at=fix_at),)
        if vulnerable else ()
    )  # fmt: skip
    return runs, rows, findings


def _history(*scans: tuple, **extra: object) -> HistoryData:
    runs = tuple(r for s in scans for r in s[0])
    return HistoryData(
        runs=runs + tuple(extra.pop("runs", ())),  # type: ignore[arg-type]
        scan_results=tuple(r for s in scans for r in s[1]),
        findings=tuple(f for s in scans for f in s[2]),
        **extra,  # type: ignore[arg-type]
    )


def test_window_closes_reopens_and_counts_open_to_now() -> None:
    data = _history(
        _scan("s1", T0, True),
        _scan("s2", T0 + 2 * DAY, False),
        _scan("s3", T0 + 5 * DAY, True),  # seen clean before: starts at this scan
    )
    now = T0 + 9 * DAY
    first, second = vulnerability_windows(data, now)
    assert (first.opened_at, first.closed_at) == (FIX, T0 + 2 * DAY)
    assert first.seconds == (T0 + 2 * DAY - FIX).total_seconds()
    assert (second.opened_at, second.closed_at) == (T0 + 5 * DAY, None)
    assert second.seconds == 4 * 86_400


def test_window_start_falls_back_to_first_seen_then_the_scan() -> None:
    known = datetime(2026, 2, 27, tzinfo=UTC)
    data = _history(_scan("s1", T0, True, fix_at=None), first_seen={"advisory:A": known})
    [window] = vulnerability_windows(data, T0 + DAY)
    assert window.opened_at == known
    [window] = vulnerability_windows(_history(_scan("s1", T0, True, fix_at=None)), T0 + DAY)
    assert window.opened_at == T0


def test_unreachable_scan_neither_opens_nor_closes() -> None:
    s1 = _scan("s1", T0, True)
    s2runs = (RunRecord(id="s2", kind="scan", status="partial", started_at=T0 + DAY),)
    s2rows = (ScanRecord(run_id="s2", target="t", database="d", reachable=False),)
    [window] = vulnerability_windows(_history(s1, (s2runs, s2rows, ())), T0 + 3 * DAY)
    assert window.is_open and window.seconds == (T0 + 3 * DAY - FIX).total_seconds()


def _apply(
    run: str, at: datetime, outcomes: dict[str, str]
) -> tuple[RunRecord, list[ApplyStepRecord]]:
    steps = [
        ApplyStepRecord(run_id=run, target="t", database="d", step=name, outcome=outcome,
                        started_at=at, duration=1.0, detail={"to": "0.8.5"})
        for name, outcome in outcomes.items()
    ]  # fmt: skip
    return RunRecord(id=run, kind="apply", status="applied", started_at=at), steps


def test_success_counts_rollbacks_incidents_and_ignores_lock_only_refusals() -> None:
    ok_run, ok = _apply("a1", T0, {"lock": "ok", "backup": "ok", "update": "ok"})
    rb_run, rb = _apply("a2", T0 + DAY, {"lock": "ok", "update": "ok"})
    inc_run, inc = _apply("a3", T0 + 2 * DAY, {"update": "ok", "verify": "failed"})
    busy_run, busy = _apply("a4", T0 + 3 * DAY, {"lock": "failed"})
    restored = {"apply_run_id": "a2", "databases": [{"target": "t", "database": "d"}]}
    rollback = RunRecord(
        id="r1", kind="rollback", status="restored", started_at=T0 + DAY, summary=restored
    )
    incident = IncidentRecord(id="i1", opened_at=T0, title="x", source="apply", target="t",
                              database="d", run_id="a1")  # fmt: skip
    data = HistoryData(
        runs=(ok_run, rb_run, inc_run, busy_run, rollback),
        apply_steps=tuple(ok + rb + inc + busy),
        incidents=(incident,),
    )
    attempts = apply_attempts(data)
    assert [(a.run_id, a.succeeded) for a in attempts] == [
        ("a1", False), ("a2", False), ("a3", False),
    ]  # fmt: skip
    assert attempts[0].problems == ("incident",)
    assert attempts[1].problems == ("rolled back",)
    assert attempts[2].problems == ("step verify failed",)
    assert attempts[0].from_version is None and attempts[0].to_version == "0.8.5"


def test_coverage_without_stage_run_is_zero_and_counts_declared_critical_cases() -> None:
    a1_run, a1 = _apply("a1", T0, {"update": "ok"})
    a2_run, a2 = _apply("a2", T0 + 2 * DAY, {"update": "ok"})
    stage = RunRecord(id="st", kind="stage", status="pass", started_at=T0 + DAY,
                      summary={"critical_total": 4})  # fmt: skip
    cases = tuple(
        StageCaseRecord(run_id="st", case_id=c, category="functionality", critical=True,
                        verdict=v)
        for c, v in (("c1", "pass"), ("c2", "pass"), ("c3", "skip"))
    )  # fmt: skip
    data = HistoryData(runs=(a1_run, a2_run, stage), apply_steps=tuple(a1 + a2), stage_cases=cases)
    m = compute_metrics(data, Period(until=T0 + 3 * DAY))
    ratios = [(a.apply_run_id, a.stage_run_id, a.ratio) for a in m.staging_test_coverage.applies]
    assert ratios == [("a1", None, 0.0), ("a2", "st", 0.5)]


def test_cadence_classes_and_targets() -> None:
    scan = _scan("s1", T0 - DAY, True)
    a1_run, a1 = _apply("a1", T0, {"update": "ok"})
    data = _history(scan, runs=(a1_run,), apply_steps=tuple(a1),
                    release_dates={"pgvector:0.8.5": date(2026, 2, 27)})  # fmt: skip
    m = compute_metrics(data, Period(until=T0 + DAY))
    [event] = m.update_cadence.events
    assert event.security and event.seconds == 2 * 86_400 + 1.0
    assert m.update_cadence.met is True
    strict = compute_metrics(data, Period(until=T0 + DAY), Objectives(security_days=1))
    assert strict.update_cadence.met is False


def test_percentiles_interpolate() -> None:
    assert percentile([1, 2, 3, 10], 50) == 2.5
    assert percentile([1, 2, 3, 10], 90) == pytest.approx(7.9)
    assert percentile([5], 90) == 5 and percentile([], 50) is None


def test_since_and_objectives_parse() -> None:
    assert parse_since("30d", T0) == T0 - 30 * DAY
    assert parse_since("2026-01-31", T0) == datetime(2026, 1, 31, tzinfo=UTC)
    assert parse_since("all", T0) is None
    with pytest.raises(UsageError):
        parse_since("last tuesday", T0)
    assert Objectives().updated({"security_days": "3"}).security_days == 3.0
    with pytest.raises(UsageError, match="unknown metrics setting"):
        Objectives().updated({"sla": 1})
    with pytest.raises(UsageError, match="out of range"):
        Objectives().updated({"success_ratio": 1.5})


def test_empty_history_has_no_data_rather_than_false() -> None:
    m = compute_metrics(HistoryData(), Period(until=T0))
    assert m.met() == {
        "update_cadence": None, "staging_test_coverage": None,
        "production_update_success_rate": None, "vulnerability_window": None,
        "security_incidents": True, "exposure": True,
    }  # fmt: skip
