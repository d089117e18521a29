"""One run and its evidence, as a reader needs it: the verdict first, why (refusal reasons,
failed critical cases), then readable rows — scan results and findings, apply steps,
stage cases with their why and figures, incidents — and what to do next (the rollback
command, the evidence and stage report files).

Shown on the run page and by ``/api/runs/{id}``; everything was redacted when it was
written. The one read beyond the store is the apply's own ``evidence.json`` (per-database
outcomes and refusal reasons), when its folder is still on this machine.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from vecpatch.apply.abandoned import PROCESS_STEP, is_gone
from vecpatch.history.records import ApplyStepRecord, RunRecord, StageCaseRecord
from vecpatch.history.store import HistoryStore
from vecpatch.metrics.incidents import incident_dict
from vecpatch.web.humane import plain
from vecpatch.web.views import run_row

APPLY_KINDS = {"apply", "rollback"}
REFUSED = {"refused", "failed", "error", "rolled_back", "partial"}


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


def _words(detail: Mapping[str, Any]) -> list[tuple[str, str]]:
    """A detail mapping as (label, words) pairs; long values keep their full text."""
    return [(str(k).replace("_", " "), plain(v)) for k, v in detail.items() if v not in (None, "")]


def _step(step: ApplyStepRecord) -> dict[str, Any]:
    row = _plain(step)
    row["facts"] = _words(step.detail)
    return row


def _case(case: StageCaseRecord) -> dict[str, Any]:
    row = _plain(case)
    detail = dict(case.detail)
    row["why"] = str(detail.pop("why", "") or "")
    row["check"] = str(detail.pop("check", "") or "")
    row["facts"] = _words(detail)
    return row


def _evidence(summary: Mapping[str, Any]) -> tuple[Path | None, dict[str, Any]]:
    """The apply's evidence folder and its ``evidence.json`` (empty when not readable)."""
    folder = summary.get("evidence")
    if not isinstance(folder, str) or not folder:
        return None, {}
    path = Path(folder)
    try:
        doc = json.loads((path / "evidence.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return path, {}
    return path, doc if isinstance(doc, dict) else {}


def _databases(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    out = []
    for db in doc.get("databases") or []:
        if not isinstance(db, dict):
            continue
        out.append({
            "target": db.get("target"), "database": db.get("database"),
            "from": db.get("from"), "to": db.get("to"), "outcome": db.get("outcome"),
            "reasons": [str(r) for r in db.get("reasons") or []],
            "warnings": [str(w) for w in db.get("warnings") or []],
            "next_steps": [str(s) for s in db.get("next_steps") or []],
        })  # fmt: skip
    return out


def _why(run: RunRecord, databases: list[dict[str, Any]], cases: list[dict[str, Any]]) -> list[str]:
    """Why a run did not simply succeed, in the run's own words."""
    reasons = [f"{d['target']}/{d['database']}: {r}" for d in databases for r in d["reasons"]]
    summary = run.summary or {}
    for key in ("reason", "error", "refused"):
        if isinstance(summary.get(key), str):
            reasons.append(str(summary[key]))
    failed = [c for c in cases if c["critical"] and c["verdict"] != "pass"]
    reasons += [f"critical case {c['case_id']} {c['verdict']}: {c['why'] or 'no reason given'}"
                for c in failed]  # fmt: skip
    return reasons


def run_detail(store: HistoryStore, run: RunRecord) -> dict[str, Any]:
    findings = [_plain(f) for f in store.findings_for_run(run.id)]
    for f in findings:
        payload = f.pop("payload", None) or {}
        f["title"] = payload.get("title")
        f["next_action"] = payload.get("next_action")
    cases = [_case(c) for c in store.stage_cases(run.id)]
    folder, doc = _evidence(run.summary or {}) if run.kind in APPLY_KINDS else (None, {})
    databases = _databases(doc)
    files = []
    if folder is not None:
        files = [str(folder / n) for n in ("evidence.md", "evidence.json")]
    report = (run.summary or {}).get("report")
    if isinstance(report, str):
        files.append(report)
    rollback = None
    if run.kind == "apply" and run.status not in ("refused", "dry_run", "nothing"):
        rollback = f"vecpatch rollback {run.id} --targets FILE"
    steps = store.apply_steps(run.id)
    return {
        "run": run_row(run),
        "process": _process(run, steps),
        "why": _why(run, databases, cases),
        "databases": databases,
        "files": files,
        "rollback": rollback,
        "scan_results": [_plain(r) for r in store.scan_results(run.id)],
        "findings": findings,
        "apply_steps": [_step(s) for s in steps],
        "stage_cases": cases,
        "incidents": [incident_dict(i) for i in store.list_incidents() if i.run_id == run.id],
    }
