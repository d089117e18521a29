"""Benchmark: server-side render time of every dashboard page on a 1,000-database history.

Not a test. Run: ``python bench/dashboard.py [--servers 10] [--databases 1000] [--scans 6]``.

Writes a history into a temporary SQLite store through the store's own API: ``--scans``
scans over a month of ``--databases`` databases on ``--servers`` servers (every tenth
database without pgvector; 3 pgvector advisories per database with pgvector, 30
PostgreSQL advisories per server), a stage run and an apply. Then, in process (no
network), times each page and ``/metrics``: the first request (reads the history and
computes) and the median of ``--repeat`` warm requests, against the goal of 300 ms warm.
The baseline in the same run is ``/api/runs``, a page that does no triage.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from vecpatch.catalog.store import load_catalog
from vecpatch.history import ApplyStepRecord, FindingRecord, HistoryStore, ScanRecord
from vecpatch.history.records import StageCaseRecord
from vecpatch.web.app import WebSettings, create_app
from vecpatch.web.source import HistorySource

GOAL_MS = 300.0
PAGES = (
    "/", "/advisories", "/advisories/CVE-2026-3172", "/servers", "/databases",
    "/databases?severity=high&sort=target&page=3", "/runs", "/metrics", "/api/runs",
)  # fmt: skip
PG_CVES = [f"CVE-2025-{n:04d}" for n in range(1000, 1030)]
PGV_CVES = ["CVE-2026-3172", "CVE-2026-18022", "CVE-2026-18023"]


def _finding(
    run: str, target: str, db: str | None, adv: str, fix: str, at: datetime
) -> FindingRecord:
    product = "postgresql" if db is None else "pgvector"
    return FindingRecord(
        run_id=run, target=target, database=db, kind="VULNERABLE", advisory_id=adv,
        severity="high", affected=True, exposed=True, fix_version=fix,
        fix_available_at=at - timedelta(days=20), installed_version="0.7.4" if db else "16.4",
        payload={"product": product, "title": f"{adv} in {product}", "advisory_severity": "high",
                 "next_action": f"update {product} to {fix} or later"},
    )  # fmt: skip


def build(store: HistoryStore, servers: int, databases: int, scans: int, t0: datetime) -> None:
    per_server = databases // servers
    for n in range(scans):
        at = t0 + timedelta(days=5 * n)
        run = store.start_run("scan", environment="production", started_at=at)
        rows: list[ScanRecord] = []
        findings: list[FindingRecord] = []
        for s in range(servers):
            target, sid = f"srv{s:02d}", f"sysid:{7_100_000 + s}"
            names = [f"db{d:04d}" for d in range(per_server)]
            facts = {"server_databases": names, "duration_seconds": 2.0}
            rows.append(ScanRecord(run_id=run, target=target, database=None, reachable=True,
                                   environment="production", pg_version="16.4", server_id=sid,
                                   facts=facts))  # fmt: skip
            findings += [_finding(run, target, None, a, "16.15", at) for a in PG_CVES]
            for d, name in enumerate(names):
                has = d % 10 != 0
                rows.append(ScanRecord(run_id=run, target=target, database=name, reachable=True,
                                       environment="production", pg_version="16.4",
                                       pgvector_installed="0.7.4" if has else None,
                                       pgvector_default="0.8.5", server_id=sid))  # fmt: skip
                if has and (d + n) % 7:
                    findings += [_finding(run, target, name, a, "0.8.5", at) for a in PGV_CVES]
        store.record_scan_results(rows)
        store.record_findings(findings)
        store.finish_run(run, "ok", {"targets": servers, "databases": databases})
    stage = store.start_run("stage", environment="staging", started_at=t0 + timedelta(days=1))
    for c in range(12):
        store.record_stage_case(StageCaseRecord(run_id=stage, case_id=f"case.{c}",
                                                category="functionality", critical=True,
                                                verdict="pass", duration=0.4,
                                                detail={"why": "same results"}))  # fmt: skip
    store.finish_run(stage, "passed", {"from": "0.7.4", "to": "0.8.5", "coverage": 1.0})
    apply = store.start_run("apply", started_at=t0 + timedelta(days=2))
    store.record_apply_step(ApplyStepRecord(run_id=apply, target="srv00", database="db0001",
                                            step="update", outcome="ok", duration=0.2,
                                            started_at=t0 + timedelta(days=2)))  # fmt: skip
    store.finish_run(apply, "applied", {"outcome": "applied", "databases": 1})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", type=int, default=10)
    parser.add_argument("--databases", type=int, default=1000)
    parser.add_argument("--scans", type=int, default=6)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    t0 = datetime.now(UTC) - timedelta(days=5 * args.scans)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'history.db'}"
        started = time.perf_counter()
        with HistoryStore.open(url) as store:
            build(store, args.servers, args.databases, args.scans, t0)
            print(f"history: {args.databases} databases, {args.servers} servers, {args.scans} "
                  f"scans written in {time.perf_counter() - started:.1f} s")  # fmt: skip
            source = HistorySource(store, load_catalog(offline=True), since="all")
            client = TestClient(create_app(WebSettings(source)))
            print(f"{'page':<48} {'first ms':>9} {'warm ms':>8}  goal {GOAL_MS:.0f} ms")
            worst = 0.0
            for path in PAGES:
                t = time.perf_counter()
                assert client.get(path).status_code == 200, path
                first = (time.perf_counter() - t) * 1000
                warm = []
                for _ in range(args.repeat):
                    t = time.perf_counter()
                    client.get(path)
                    warm.append((time.perf_counter() - t) * 1000)
                median = statistics.median(warm)
                worst = max(worst, median)
                verdict = "ok" if median <= GOAL_MS else "MISSED"
                print(f"{path:<48} {first:>9.0f} {median:>8.1f}  {verdict}")
            print(f"slowest warm page {worst:.1f} ms ({worst / GOAL_MS:.2f}x the goal)")


if __name__ == "__main__":
    main()
