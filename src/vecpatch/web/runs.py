"""One run and its evidence, as stored: scan rows and findings, apply steps, stage cases,
incidents. Shown on the run page and by ``/api/runs/{id}``; everything was redacted
when it was written, so nothing here can hold a password.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from vecpatch.apply.abandoned import PROCESS_STEP, is_gone
from vecpatch.history.records import ApplyStepRecord, RunRecord
from vecpatch.history.store import HistoryStore
from vecpatch.metrics.incidents import incident_dict
from vecpatch.web.views import run_row


def _plain(record: Any) -> dict[str, Any]:
    out = asdict(record)
    for key, value in out.items():
        if isinstance(value, datetime):
            out[key] = value.isoformat()
    return out


def _process(run: RunRecord, steps: list[ApplyStepRecord]) -> dict[str, Any] | None:
    """For an apply still ``running``: whether its process is gone (None: cannot tell here)."""
    if run.kind != "apply" or run.status != "running":
        return None
    recorded = next((s.detail for s in steps if s.step == PROCESS_STEP), None)
    gone = is_gone(recorded) if recorded is not None else None
    note = {
        True: "its process is gone: the next `vecpatch apply` with its targets settles it",
        False: "its process is still running",
        None: "its process cannot be checked from here",
    }[gone]
    return {"gone": gone, "note": note}


def run_detail(store: HistoryStore, run: RunRecord) -> dict[str, Any]:
    findings = [_plain(f) for f in store.findings_for_run(run.id)]
    for f in findings:
        f.pop("payload", None)  # the full finding is in the scan report; keep the page light
    steps = store.apply_steps(run.id)
    return {
        "run": run_row(run),
        "process": _process(run, steps),
        "scan_results": [_plain(r) for r in store.scan_results(run.id)],
        "findings": findings,
        "apply_steps": [_plain(s) for s in steps],
        "stage_cases": [_plain(c) for c in store.stage_cases(run.id)],
        "incidents": [incident_dict(i) for i in store.list_incidents() if i.run_id == run.id],
    }
