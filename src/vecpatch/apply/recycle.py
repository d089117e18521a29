"""``vecpatch apply --recycle-stale RUN_ID``: the after-care of a finished run, on its own.

Sessions that started before a run's COMMIT may still run the old ``vector.so``. Re-running
apply cannot reach them (the database is up to date: nothing to do), so this reads the
cutoff each database's update recorded and ends the sessions still older than it
(``pg_terminate_backend``, or the pool's ``--reconnect-hook``), touching nothing else.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg

from vecpatch.apply.model import ApplyOptions
from vecpatch.apply.post import reconnect, stale_sessions
from vecpatch.apply.session import Endpoint, error_text
from vecpatch.errors import UsageError
from vecpatch.exitcodes import ExitCode
from vecpatch.history.records import ApplyStepRecord
from vecpatch.history.store import HistoryStore, utcnow
from vecpatch.targets import ConnInfoError, Target, resolve_conninfo


@dataclass
class RecycleResult:
    """Per database: how many stale sessions were found and how many remain."""

    run_id: str
    apply_run_id: str
    databases: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(d.get("remaining") == 0 for d in self.databases)

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.OK if self.ok else ExitCode.POST_COMMIT

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "apply_run_id": self.apply_run_id,
            "outcome": "recycled" if self.ok else "sessions-remain",
            "databases": self.databases,
        }


def recycle_stale(
    apply_run_id: str,
    targets: Sequence[Target],
    store: HistoryStore,
    reconnect_hook: str | None = None,
    environ: Mapping[str, str] = os.environ,
) -> RecycleResult:
    """End the sessions older than each committed update of ``apply_run_id``."""
    run = store.get_run(apply_run_id)
    if run is None or run.kind != "apply":
        raise UsageError(f"no apply run {apply_run_id} in the history store {store.url}")
    updates = [
        s
        for s in store.apply_steps(apply_run_id)
        if s.step == "update" and s.outcome == "ok" and s.detail.get("cutoff")
    ]
    if not updates:
        raise UsageError(f"apply run {apply_run_id} committed no update: no session is stale")
    by_name = {t.name: t for t in targets}
    run_id = store.start_run("apply")
    result = RecycleResult(run_id, apply_run_id)
    opts = ApplyOptions(reconnect_stale=True, reconnect_hook=reconnect_hook)
    for step in updates:
        doc = _one(step, by_name.get(step.target), opts, environ, run_id)
        result.databases.append(doc)
        store.record_apply_step(
            ApplyStepRecord(
                run_id=run_id,
                target=step.target,
                database=step.database,
                step="stale-sessions",
                outcome="ok" if doc.get("remaining") == 0 else "failed",
                started_at=utcnow(),
                detail=doc,
            )
        )
    summary = {**result.to_dict(), "recycle_of": apply_run_id}
    store.finish_run(run_id, summary["outcome"], summary)
    return result


def _one(
    step: ApplyStepRecord,
    target: Target | None,
    opts: ApplyOptions,
    environ: Mapping[str, str],
    run_id: str,
) -> dict[str, Any]:
    doc: dict[str, Any] = {"target": step.target, "database": step.database}
    resolved = resolve_conninfo(target, environ) if target else None
    if resolved is None or isinstance(resolved, ConnInfoError) or step.database is None:
        doc["detail"] = "not checked: the target is not among the given targets"
        return doc
    endpoint = Endpoint(
        step.target,
        step.database,
        resolved.for_database(step.database),
        f"vecpatch recycle {run_id}",
    )
    cutoff = datetime.fromisoformat(str(step.detail["cutoff"]))
    try:
        found = stale_sessions(endpoint, cutoff)
        doc["found"] = len(found)
        if not found:
            doc.update(remaining=0, detail="no session older than the update is left")
            return doc
        check, remaining = reconnect(endpoint, found, opts, cutoff)
    except psycopg.Error as exc:
        doc["detail"] = f"not checked: {error_text(exc, endpoint)}"
        return doc
    doc.update(remaining=len(remaining), detail=check.detail, sessions=remaining)
    return doc
