"""Dropped databases on hand-built history: a window closes when the server's database list
no longer has its database, the fleet forgets it, and a database a scan merely did not
select (or history without database lists) keeps the old behaviour."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from prometheus_client.parser import text_string_to_metric_families

from vecpatch.history import FindingRecord, RunRecord, ScanRecord
from vecpatch.metrics import HistoryData, Period, Scope, compute_metrics
from vecpatch.metrics.exposure import fleet
from vecpatch.metrics.prometheus import exposition
from vecpatch.metrics.windows import vulnerability_windows

T0 = datetime(2026, 3, 1, tzinfo=UTC)
FIX = datetime(2026, 2, 25, tzinfo=UTC)
DAY = timedelta(days=1)
NOW = T0 + 10 * DAY


def _scan(
    run: str,
    at: datetime,
    databases: dict[str, bool],
    server: tuple[str, ...] | None = None,
    target: str = "t",
) -> tuple:
    """One scan of *target*: each database reached, vulnerable or not; *server* the names of
    every database on the server (None: history recorded before the list existed)."""
    runs = (RunRecord(id=run, kind="scan", status="ok", started_at=at),)
    rows = [
        ScanRecord(run_id=run, target=target, database=db, reachable=True, environment="prod")
        for db in databases
    ]
    if server is not None:
        rows.append(
            ScanRecord(run_id=run, target=target, database=None, reachable=True,
                       environment="prod", pg_version="16.2",
                       facts={"server": {}, "server_databases": list(server)})
        )  # fmt: skip
    findings = tuple(
        FindingRecord(run_id=run, target=target, database=db, kind="VULNERABLE",
                      advisory_id="A", severity="high", affected=True, exposed=True,
                      fix_version="0.8.2", fix_available_at=FIX)
        for db, vulnerable in databases.items()
        if vulnerable
    )  # fmt: skip
    return runs, tuple(rows), findings


def _history(*scans: tuple) -> HistoryData:
    return HistoryData(
        runs=tuple(r for s in scans for r in s[0]),
        scan_results=tuple(r for s in scans for r in s[1]),
        findings=tuple(f for s in scans for f in s[2]),
    )


def _fleet(data: HistoryData) -> list[tuple[str, str]]:
    return [(r.target, r.database) for r in fleet(data)]


def test_a_dropped_database_closes_its_window_and_leaves_the_fleet() -> None:
    data = _history(
        _scan("s1", T0, {"d": True, "e": False}, server=("d", "e", "postgres")),
        _scan("s2", T0 + 2 * DAY, {"e": False}, server=("e", "postgres")),
        _scan("s3", T0 + 4 * DAY, {"e": False}, server=("e", "postgres")),
    )
    [window] = vulnerability_windows(data, NOW)
    assert (window.database, window.closed_at, window.closed_by) == ("d", T0 + 2 * DAY, "dropped")
    assert window.seconds == (T0 + 2 * DAY - FIX).total_seconds()
    assert window.to_dict()["closed_by"] == "dropped" and window.to_dict()["open"] is False
    assert _fleet(data) == [("t", "e")]
    metrics = compute_metrics(data, Period(until=NOW))
    assert metrics.exposure.to_dict()["value"] == 0
    assert metrics.exposure.to_dict()["databases"] == 1
    gauges = {
        f.name: f.samples
        for f in text_string_to_metric_families(exposition(data, metrics).decode())
    }
    assert [s.value for s in gauges["vecpatch_pgvector_databases"]] == [1.0]
    assert [s.value for s in gauges["vecpatch_databases"]] == [1.0]
    assert all(s.labels["kind"] != "VULNERABLE" for s in gauges["vecpatch_findings"])
    assert gauges["vecpatch_advisory_open_window_max_seconds"] == []
    assert sum(s.value for s in gauges["vecpatch_open_vulnerability_windows"]) == 0


def test_a_fixed_window_says_so() -> None:
    data = _history(
        _scan("s1", T0, {"d": True}, server=("d",)),
        _scan("s2", T0 + DAY, {"d": False}, server=("d",)),
    )
    [window] = vulnerability_windows(data, NOW)
    assert (window.closed_at, window.closed_by) == (T0 + DAY, "fixed")
    [open_] = vulnerability_windows(_history(_scan("s1", T0, {"d": True}, server=("d",))), NOW)
    assert open_.closed_by is None and open_.to_dict()["closed_by"] is None


def test_a_database_not_selected_by_a_later_scan_stays_open_and_listed() -> None:
    data = _history(
        _scan("s1", T0, {"d": True, "e": False}, server=("d", "e")),
        _scan("s2", T0 + 2 * DAY, {"e": False}, server=("d", "e")),  # d exists, not selected
    )
    [window] = vulnerability_windows(data, NOW)
    assert window.database == "d" and window.is_open and window.closed_by is None
    assert window.seconds == (NOW - FIX).total_seconds()
    assert _fleet(data) == [("t", "d"), ("t", "e")]
    assert compute_metrics(data, Period(until=NOW)).exposure.to_dict()["value"] == 1


def test_another_server_list_drops_nothing_here() -> None:
    data = _history(
        _scan("s1", T0, {"d": True}, server=("d",)),
        _scan("s2", T0 + DAY, {"x": False}, server=("x",), target="other"),
    )
    [window] = vulnerability_windows(data, NOW)
    assert window.is_open
    assert _fleet(data) == [("other", "x"), ("t", "d")]


def test_history_without_server_lists_is_unchanged() -> None:
    old = _history(
        _scan("s1", T0, {"d": True, "e": False}),
        _scan("s2", T0 + 2 * DAY, {"e": False}),
    )
    [window] = vulnerability_windows(old, NOW)
    assert window.is_open and window.closed_by is None
    assert window.seconds == (NOW - FIX).total_seconds()
    assert _fleet(old) == [("t", "d"), ("t", "e")]
    # a target-level row without a list (or an unreachable target's row) is no list either
    s2runs, s2rows, _ = _scan("s2", T0 + 2 * DAY, {"e": False})
    blank = (
        ScanRecord(run_id="s2", target="t", database=None, reachable=True, facts={"server": {}}),
        ScanRecord(run_id="s2", target="t", database=None, reachable=False, reason="timeout",
                   facts={"server_databases": ["e"]}),
    )  # fmt: skip
    mixed = _history(_scan("s1", T0, {"d": True, "e": False}), (s2runs, s2rows + blank, ()))
    assert vulnerability_windows(mixed, NOW) == vulnerability_windows(old, NOW)
    assert _fleet(mixed) == _fleet(old)
    before = compute_metrics(old, Period(until=NOW)).to_dict()
    after = compute_metrics(mixed, Period(until=NOW)).to_dict()
    assert before == after


def test_a_database_recreated_after_a_drop_is_a_new_one() -> None:
    data = _history(
        _scan("s1", T0, {"d": True}, server=("d", "postgres")),
        _scan("s2", T0 + DAY, {"postgres": False}, server=("postgres",)),
        _scan("s3", T0 + 3 * DAY, {"d": True}, server=("d", "postgres")),
    )
    dropped, again = vulnerability_windows(data, NOW)
    assert (dropped.closed_at, dropped.closed_by) == (T0 + DAY, "dropped")
    assert (again.opened_at, again.closed_at) == (T0 + 3 * DAY, None)
    assert _fleet(data) == [("t", "d"), ("t", "postgres")]


def test_scope_ignores_other_environments_server_lists() -> None:
    data = _history(
        _scan("s1", T0, {"d": True}, server=("d",)),
        _scan("s2", T0 + DAY, {"e": False}, server=("e",)),
    )
    assert vulnerability_windows(data, NOW, Scope("prod"))[0].closed_by == "dropped"
    assert vulnerability_windows(data, NOW, Scope("staging")) == []


def test_a_database_reached_but_not_listed_is_not_dropped() -> None:
    """A pooler alias (or a database created after the list was read) is reached by the
    scan without being in the server's list: the scan's own rows win."""
    data = _history(
        _scan("s1", T0, {"alias": True}, server=("postgres",)),
        _scan("s2", T0 + 2 * DAY, {"alias": True}, server=("postgres",)),
    )
    [window] = vulnerability_windows(data, NOW)
    assert window.is_open and window.closed_by is None
    assert window.seconds == (NOW - FIX).total_seconds()
    assert _fleet(data) == [("t", "alias")]
