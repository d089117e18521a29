"""Every staging run and case in the history store.

Staging coverage (the share of critical cases executed and passed) is what the
metrics dashboard plots as the staging pass rate, so it is stored with the run.
"""

from __future__ import annotations

from vecpatch.history.records import StageCaseRecord
from vecpatch.history.store import HistoryStore
from vecpatch.stage.model import Outcome, StageReport

_STATUS = {Outcome.PASS: "passed", Outcome.FAIL: "failed", Outcome.INCOMPLETE: "incomplete",
           Outcome.NOTHING_TO_STAGE: "nothing-to-stage"}  # fmt: skip
"""The run's status in the history: only ``passed`` counts for the production gate."""


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
        "pg_major": report.pg_major,
        "staging": report.staging,
        "coverage": round(report.coverage, 4),
        "counts": report.counts(),
        "verdict": report.verdict.value,
        "failed_critical": [c.id for c in report.critical_failures],
        "not_run_critical": [c.id for c in report.not_run],
        "timings_seconds": {k: round(v, 3) for k, v in report.timings.items()},
        "restore_seconds": (report.drill or {}).get("restore_seconds"),
    }
    status = _STATUS[report.verdict] if report.cases or report.nothing_to_stage else "error"
    store.finish_run(report.run_id, status, summary)
