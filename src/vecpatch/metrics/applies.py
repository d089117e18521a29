"""Production apply attempts, one per (apply run, target, database), read from apply steps.

``vecpatch apply`` records its run (``kind="apply"``), one step per stage of each
database's job, and an incident (``source="apply"``) when a database fails; a later
``vecpatch rollback`` records a run whose summary names the ``apply_run_id`` and the
databases it restored. From those records:

* an **attempt** is a database with at least one recorded step other than ``lock`` (a
  database refused before its lock, or whose lock was busy, was never touched), the
  run's ``process`` record and the ``stale-sessions`` step of ``apply --recycle-stale``;
* it **succeeded** when its ``update`` step ended ``ok``, no step ended ``failed``, no
  incident names its run and database, and no rollback run restored it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from vecpatch.history.records import ApplyStepRecord
from vecpatch.metrics.data import ALL, HistoryData, Scope


@dataclass(frozen=True)
class ApplyAttempt:
    """What happened to one database in one apply run."""

    run_id: str
    target: str
    database: str | None
    started_at: datetime
    """When the apply run started."""
    applied_at: datetime | None
    """When the ``update`` step ended ``ok`` (the new version was committed)."""
    from_version: str | None
    to_version: str | None
    succeeded: bool
    problems: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "target": self.target,
            "database": self.database,
            "started_at": self.started_at.isoformat(),
            "applied_at": self.applied_at.isoformat() if self.applied_at else None,
            "from": self.from_version,
            "to": self.to_version,
            "succeeded": self.succeeded,
            "problems": list(self.problems),
        }


_NOT_AN_ATTEMPT = frozenset({"lock", "process", "stale-sessions"})
"""Steps that change no data by themselves: the lock, the run's process record, and
``apply --recycle-stale`` (which only ends sessions of an earlier run)."""


def _rolled_back(data: HistoryData) -> set[tuple[str, str, str | None]]:
    """(apply run, target, database) restored by any rollback run."""
    out: set[tuple[str, str, str | None]] = set()
    for run in data.runs_of("rollback"):
        summary = run.summary or {}
        apply_id = summary.get("apply_run_id")
        for db in summary.get("databases") or []:
            # a refused or rolled-back-by-itself restore changed nothing
            if apply_id and isinstance(db, dict) and db.get("changed", True):
                out.add((str(apply_id), str(db.get("target")), db.get("database")))
    return out


def _attempt(
    run_id: str,
    started: datetime,
    key: tuple[str, str | None],
    steps: list[ApplyStepRecord],
    incidents: set[tuple[str, str | None, str | None]],
    rolled_back: set[tuple[str, str, str | None]],
) -> ApplyAttempt:
    target, database = key
    problems = [f"step {s.step} {s.outcome}" for s in steps if s.outcome == "failed"]
    update = next((s for s in steps if s.step == "update"), None)
    applied_at = None
    if update is None:
        problems.append("no update step")
    elif update.outcome == "ok" and update.started_at is not None:
        applied_at = update.started_at + timedelta(seconds=update.duration or 0.0)
    if (run_id, target, database) in incidents:
        problems.append("incident")
    if (run_id, target, database) in rolled_back:
        problems.append("rolled back")
    backup = next((s for s in steps if s.step == "backup"), None)
    from_version = backup.detail.get("extversion") if backup is not None else None
    to_version = update.detail.get("to") if update is not None else None
    return ApplyAttempt(
        run_id=run_id,
        target=target,
        database=database,
        started_at=started,
        applied_at=applied_at,
        from_version=str(from_version) if from_version else None,
        to_version=str(to_version) if to_version else None,
        succeeded=not problems and applied_at is not None,
        problems=tuple(problems),
    )


def apply_attempts(data: HistoryData, scope: Scope = ALL) -> list[ApplyAttempt]:
    """Every attempt of every apply run in *scope*, oldest run first."""
    environments = data.target_environments()
    incidents = {(i.run_id, i.target, i.database) for i in data.incidents if i.run_id}
    rolled_back = _rolled_back(data)
    steps_by_run: dict[str, dict[tuple[str, str | None], list[ApplyStepRecord]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for step in data.apply_steps:
        steps_by_run[step.run_id][(step.target, step.database)].append(step)
    out: list[ApplyAttempt] = []
    for run in data.runs_of("apply"):
        for key, steps in steps_by_run.get(run.id, {}).items():
            if all(s.step in _NOT_AN_ATTEMPT for s in steps):
                continue
            if not scope.includes(key[0], environments) and run.environment != scope.environment:
                continue
            out.append(_attempt(run.id, run.started_at, key, steps, incidents, rolled_back))
    return out
