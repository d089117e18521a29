"""/metrics stays bounded: 1,000 databases x 60 advisories is a few hundred series, which
prometheus-client's own parser accepts; aliases of one server count once; no reserved
``quantile`` label on a gauge; counters end in ``_total``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from prometheus_client.parser import text_string_to_metric_families

from vecpatch.history.records import FindingRecord, RunRecord, ScanRecord
from vecpatch.metrics import Period, compute_metrics
from vecpatch.metrics.data import HistoryData
from vecpatch.metrics.prometheus import exposition

T0 = datetime(2026, 10, 1, tzinfo=UTC)
SERVERS, DATABASES, ADVISORIES = 10, 100, 60
SEVERITIES = ("critical", "high", "medium", "low")


def _finding(target: str, database: str | None, n: int, product: str) -> FindingRecord:
    return FindingRecord(
        run_id="scan", target=target, database=database, kind="VULNERABLE",
        advisory_id=f"CVE-2026-{n:04d}", severity=SEVERITIES[n % 4], affected=True,
        exposed=n % 3 != 0, fix_version="0.8.5" if product == "pgvector" else "16.15",
        fix_available_at=T0 - timedelta(days=n),
        payload={"product": product, "advisory_severity": SEVERITIES[n % 4]},
    )  # fmt: skip


def _fleet() -> HistoryData:
    """10 servers of 100 databases; 30 pgvector advisories on every database, 30 PostgreSQL
    advisories on every server; every server also scanned through an alias target."""
    rows: list[ScanRecord] = []
    findings: list[FindingRecord] = []
    for s in range(SERVERS):
        sid = f"sysid:{7000 + s}"
        for target in (f"srv{s}", f"srv{s}-alias"):
            rows.append(ScanRecord(run_id="scan", target=target, database=None, reachable=True,
                                   server_id=sid, facts={"duration_seconds": 1.5}))  # fmt: skip
            findings += [_finding(target, None, n, "postgresql") for n in range(30, ADVISORIES)]
            for d in range(DATABASES):
                db = f"db{d:03d}"
                installed = "0.7.4" if d % 10 else None
                rows.append(ScanRecord(run_id="scan", target=target, database=db, reachable=True,
                                       server_id=sid, pg_version="16.4",
                                       pgvector_installed=installed,
                                       pgvector_default="0.8.5"))  # fmt: skip
                if installed:
                    findings += [_finding(target, db, n, "pgvector") for n in range(30)]
    run = RunRecord(id="scan", kind="scan", status="ok", started_at=T0)
    return HistoryData(runs=(run,), scan_results=tuple(rows), findings=tuple(findings))


def test_a_thousand_databases_and_sixty_advisories_stay_under_500_series() -> None:
    data = _fleet()
    metrics = compute_metrics(data, Period(until=T0 + timedelta(days=1)))
    text = exposition(data, metrics).decode()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    series = sum(len(f.samples) for f in families.values())
    assert series < 500, series
    assert not any("quantile" in s.labels for f in families.values() for s in f.samples)
    assert families["vecpatch_update_attempts"].type == "counter"
    assert [s.value for s in families["vecpatch_databases"].samples] == [SERVERS * DATABASES]
    assert [s.value for s in families["vecpatch_servers"].samples] == [SERVERS]
    exposed = {
        (s.labels["advisory"], s.labels["level"]): s.value
        for s in families["vecpatch_advisory_exposed"].samples
    }
    assert len(exposed) == ADVISORIES
    # a pgvector advisory: once per database with pgvector; a PostgreSQL one: once per server
    assert exposed[("CVE-2026-0001", "database")] == SERVERS * DATABASES * 9 / 10
    assert exposed[("CVE-2026-0031", "server")] == SERVERS
    assert exposed[("CVE-2026-0030", "server")] == 0  # affected but mitigated
    pgv = {
        (s.labels["installed"], s.labels["on_disk"]): s.value
        for s in families["vecpatch_pgvector_databases"].samples
        if s.labels["target"] == "srv0"
    }
    assert pgv == {("0.7.4", "0.8.5"): 90, ("none", "0.8.5"): 10}
    up = {s.labels["target"] for s in families["vecpatch_target_up"].samples}
    assert up == {f"srv{s}{a}" for s in range(SERVERS) for a in ("", "-alias")}
    windows = sum(s.value for s in families["vecpatch_open_vulnerability_windows"].samples)
    assert windows == 20 * SERVERS * DATABASES * 9 / 10 + 20 * SERVERS
    info = [s.labels for s in families["vecpatch_build_info"].samples]
    assert len(info) == 1 and info[0]["version"]
