"""Options, per-database records and outcomes of an apply.

Kept free of I/O so the runner, the evidence writer, the history recorder and the
CLI all read the same shapes. A database's run is a mutable accumulator filled step
by step (a run that dies half-way must still say what it did); everything else is frozen.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

import psycopg

from vecpatch.exitcodes import ExitCode
from vecpatch.plan import Policy


class BackupKind(StrEnum):
    """What is saved before the update (``--backup``)."""

    PG_DUMP = "pg_dump"
    SCHEMA = "schema"
    COMMAND = "command"
    NONE = "none"


class Outcome(StrEnum):
    """How one database (and, worst of them, the whole run) ended."""

    APPLIED = "applied"
    NOTHING = "nothing-to-do"
    DRY_RUN = "dry-run"
    REFUSED = "refused"
    FAILED = "failed"
    POST_COMMIT_FAILED = "post-commit-failed"
    INTERRUPTED = "interrupted"
    """Stopped by a signal before COMMIT: the database is unchanged."""

    @property
    def exit_code(self) -> ExitCode:
        if self is Outcome.POST_COMMIT_FAILED:
            return ExitCode.POST_COMMIT
        if self is Outcome.INTERRUPTED:
            return ExitCode.INTERRUPTED
        if self in (Outcome.REFUSED, Outcome.FAILED):
            return ExitCode.FINDINGS
        return ExitCode.OK


_SEVERITY = [
    Outcome.NOTHING,
    Outcome.DRY_RUN,
    Outcome.APPLIED,
    Outcome.REFUSED,
    Outcome.FAILED,
    Outcome.INTERRUPTED,
]


def worst(outcomes: list[Outcome]) -> Outcome:
    """The run's outcome: a post-commit failure dominates (the database changed)."""
    if Outcome.POST_COMMIT_FAILED in outcomes:
        return Outcome.POST_COMMIT_FAILED
    if not outcomes:
        return Outcome.NOTHING
    return max(outcomes, key=_SEVERITY.index)


class Ui(Protocol):
    """How an apply talks to a person (the CLI) or a test."""

    def info(self, message: str) -> None: ...

    def confirm(self, target: str, summary: str) -> bool: ...


BeforeCommit = Callable[[int], None]
"""Test seam: called with the update session's backend pid just before COMMIT."""
ExtraCheck = Callable[["psycopg.Connection[Any]"], "Check"]
"""Test seam: one more check run inside the update transaction."""


@dataclass(frozen=True)
class ApplyOptions:
    """Everything the operator chose for one apply run."""

    policy: Policy = Policy.LATEST
    to: str | None = None
    backup: BackupKind = BackupKind.PG_DUMP
    backup_command: str | None = None
    backup_dir: Path | None = None
    i_have_a_backup: bool = False
    now: bool = False
    yes: bool = False
    lock_timeout: float = 2.0
    statement_timeout: float = 300.0
    retry_budget: float = 30.0
    reconnect_stale: bool = False
    reconnect_hook: str | None = None
    soak: float = 120.0
    dry_run: bool = False
    evidence_dir: Path | None = None
    pg_bin: Path | None = None
    pg_minor_hook: str | None = None
    package_hook: str | None = None
    concurrency: int = 4
    dump_jobs: int = 2
    max_xact_age: float = 60.0
    max_replica_lag: float = 30.0
    recall_threshold: float = 0.8
    stage_gate_age: float = 30 * 86400.0
    """Seconds: how recent a passing stage of the same update production needs."""
    no_stage_gate: str | None = None
    """The operator's reason to update production without a passing stage (in evidence)."""
    before_commit: BeforeCommit | None = field(default=None, repr=False, compare=False)
    extra_checks: tuple[ExtraCheck, ...] = field(default=(), repr=False, compare=False)

    def public(self) -> dict[str, Any]:
        """The options as recorded in evidence (no callables, paths as text)."""
        skip = {"before_commit", "extra_checks"}
        out: dict[str, Any] = {}
        for key, value in self.__dict__.items():
            if key in skip:
                continue
            out[key] = str(value) if isinstance(value, Path | StrEnum) else value
        return out

    @classmethod
    def from_public(cls, doc: Mapping[str, Any]) -> ApplyOptions:
        """The inverse of :meth:`public` (a queued apply job rebuilds its options from it)."""
        known = {f.name for f in fields(cls)} - {"before_commit", "extra_checks"}
        unknown = sorted(set(doc) - known)
        if unknown:
            raise ValueError(f"unknown apply option(s): {', '.join(unknown)}")
        values = dict(doc)
        for key in ("backup_dir", "evidence_dir", "pg_bin"):
            if values.get(key) is not None:
                values[key] = Path(values[key])
        if "policy" in values:
            values["policy"] = Policy(values["policy"])
        if "backup" in values:
            values["backup"] = BackupKind(values["backup"])
        return cls(**values)


@dataclass(frozen=True)
class Check:
    """One verification and its verdict."""

    name: str
    ok: bool
    detail: str = ""
    skipped: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "detail": self.detail, "skipped": self.skipped}


@dataclass
class Step:
    """One recorded step of one database's apply."""

    name: str
    outcome: str
    started_at: datetime
    duration: float
    detail: Mapping[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "outcome": self.outcome,
            "started_at": self.started_at.isoformat(),
            "duration_seconds": round(self.duration, 4),
            "detail": dict(self.detail),
        }


@dataclass
class DatabaseRun:
    """What happened to one database, filled in as the apply goes."""

    target: str
    database: str
    installed: str | None
    to: str | None
    outcome: Outcome = Outcome.NOTHING
    reasons: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    next_steps: list[str] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    sql: list[str] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    backup: dict[str, Any] | None = None
    stale_sessions: list[dict[str, Any]] = field(default_factory=list)
    soak: dict[str, Any] | None = None
    committed_at: datetime | None = None
    seen_after: str | None = None
    """``extversion`` read from a new session after a failed update (None: not read)."""

    @property
    def label(self) -> str:
        return f"{self.target}/{self.database}"

    @property
    def state(self) -> str:
        """The database's state in one phrase, as far as this run knows it."""
        if self.committed_at is not None:
            return f"updated to {self.to} (committed {self.committed_at:%Y-%m-%d %H:%M:%S %Z})"
        if self.outcome is Outcome.POST_COMMIT_FAILED and self.seen_after:
            return f"at {self.seen_after} (read from a new session after the failure)"
        if self.outcome is Outcome.POST_COMMIT_FAILED:
            return "not known: check extversion before doing anything else"
        return f"unchanged at {self.installed or '-'}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "database": self.database,
            "from": self.installed,
            "to": self.to,
            "outcome": self.outcome.value,
            "reasons": self.reasons,
            "warnings": self.warnings,
            "next_steps": self.next_steps,
            "steps": [s.to_dict() for s in self.steps],
            "sql": self.sql,
            "checks": [c.to_dict() for c in self.checks],
            "backup": self.backup,
            "stale_sessions": self.stale_sessions,
            "soak": self.soak,
            "committed_at": self.committed_at.isoformat() if self.committed_at else None,
            "database_state": self.state,
        }


@dataclass(frozen=True)
class ApplyResult:
    """The whole run: its id, every database, the evidence written, the exit code."""

    run_id: str
    outcome: Outcome
    databases: tuple[DatabaseRun, ...]
    evidence_dir: Path | None
    notes: tuple[str, ...] = ()

    @property
    def exit_code(self) -> ExitCode:
        """An interrupted run that committed somewhere is not "every database unchanged"."""
        committed = any(d.committed_at is not None for d in self.databases)
        if committed and self.outcome is Outcome.INTERRUPTED:
            return ExitCode.POST_COMMIT
        return self.outcome.exit_code
