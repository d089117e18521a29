"""The stage gate: production is updated only after the same update passed staging.

"Test in staging, then update production" is a promise only if something checks it.
For a target whose environment is ``production`` (targets file), apply refuses a
database unless the history holds a *passing* stage (status ``passed``: not
``incomplete``, not ``nothing-to-stage``) of the same pgvector from -> to on the same
PostgreSQL major, finished within ``stage_gate_age`` (30 days by default). The refusal
names the exact ``vecpatch stage`` command that would open the gate; ``--no-stage-gate
REASON`` lets the operator go ahead anyway, and the reason goes into the evidence.

Every apply goes through :func:`vecpatch.apply.runner.run_apply`, so the CLI, ``rollout``
and a queued apply all meet this one gate. The decision is pure (:func:`decide`, over
the stage runs read once); only :func:`refusal` touches the history store.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from vecpatch.history.records import RunRecord
from vecpatch.history.store import HistoryStore

PRODUCTION = "production"
DEFAULT_AGE = 30 * 86400.0


@dataclass(frozen=True)
class Wanted:
    """The update production is about to get: what a passing stage must have rehearsed."""

    target: str
    environment: str | None
    installed: str
    to: str
    pg_major: str


def gated(environment: str | None) -> bool:
    return (environment or "").lower() == PRODUCTION


def _utc(when: datetime) -> datetime:
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def matching(
    runs: Sequence[RunRecord], wanted: Wanted, max_age: float, now: datetime
) -> str | None:
    """The id of the newest passing stage of this very update within ``max_age``, if any."""
    oldest = now - timedelta(seconds=max_age)
    found = [
        r
        for r in runs
        if r.kind == "stage"
        and r.status == "passed"
        and r.summary is not None
        and str(r.summary.get("from")) == wanted.installed
        and str(r.summary.get("to")) == wanted.to
        and str(r.summary.get("pg_major")) == wanted.pg_major
        and _utc(r.finished_at or r.started_at) >= oldest
    ]
    newest = max(found, key=lambda r: _utc(r.finished_at or r.started_at), default=None)
    return newest.id if newest is not None else None


def command(wanted: Wanted, history: str | None) -> str:
    """The ``vecpatch stage`` command that rehearses exactly this update on a clone."""
    parts = ["vecpatch", "stage", "--clone-from", wanted.target, "--targets", "TARGETS.toml",
             "--to", wanted.to]  # fmt: skip
    if history:
        parts += ["--history", history]
    return shlex.join(parts)


def decide(
    runs: Sequence[RunRecord],
    wanted: Wanted,
    max_age: float,
    now: datetime,
    history: str | None,
) -> str | None:
    """Why this database may not be updated yet (None: not production, or staged)."""
    if not gated(wanted.environment):
        return None
    if matching(runs, wanted, max_age, now) is not None:
        return None
    days = max_age / 86400
    return (
        f"stage gate: no passing stage of pgvector {wanted.installed} -> {wanted.to} on "
        f"PostgreSQL {wanted.pg_major} in the last {days:g} days for this production target; "
        f"run `{command(wanted, history)}` first, or pass --no-stage-gate REASON"
    )


def refusal(
    store: HistoryStore | None, wanted: Wanted, max_age: float, now: datetime
) -> str | None:
    """:func:`decide` over the history's stage runs (no store: nothing can prove a stage)."""
    if not gated(wanted.environment):
        return None
    if store is None:
        return (
            "stage gate: no history store to find a passing stage in; use --history, or pass "
            "--no-stage-gate REASON"
        )
    runs = store.runs("stage", since=now - timedelta(seconds=max_age))
    return decide(runs, wanted, max_age, now, store.url)
