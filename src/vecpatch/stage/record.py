"""Every staging run and case in the history store.

Staging coverage (the share of critical cases executed and passed) is what the
metrics dashboard plots as the staging pass rate, so it is stored with the run.
"""

from __future__ import annotations

from vecpatch.history.records import StageCaseRecord
from vecpatch.history.store import HistoryStore
from vecpatch.stage.model import StageReport


def record_report(store: HistoryStore, report: StageReport) -> None:
    for case in report.cases:
        store.record_stage_case(
            StageCaseRecord(
                run_id=report.run_id,
                case_id=case.id,
                category=case.category.value,
                critical=case.critical,
                verdict=case.verdict.value,
                duration=case.duration,
                detail={"why": case.why, "check": case.check},
            )
        )
    summary = {
        "from": report.installed,
        "to": report.target,
        "staging": report.staging,
        "coverage": round(report.coverage, 4),
        "counts": report.counts(),
        "failed_critical": [c.id for c in report.critical_failures],
        "timings_seconds": {k: round(v, 3) for k, v in report.timings.items()},
        "restore_seconds": (report.drill or {}).get("restore_seconds"),
    }
    status = "passed" if not report.critical_failures and report.cases else "failed"
    if not report.cases:
        status = "error"
    store.finish_run(report.run_id, status, summary)
