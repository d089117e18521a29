"""One database's apply after preflight: backup -> update -> verify -> actions -> stale -> soak.

Each stage records a step; a failure before COMMIT ends the job with the database
unchanged (exit 1), a failure after it ends with "post-commit" and what to do next (exit 4).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from vecpatch.apply.backup import BackupFailed, extversion, take_backup
from vecpatch.apply.binaries import BinariesNotFound
from vecpatch.apply.lock import ApplyLock, LockBusy, acquire
from vecpatch.apply.model import ApplyOptions, Check, DatabaseRun, Outcome
from vecpatch.apply.post import reconnect, run_action, stale_sessions, verify
from vecpatch.apply.recorder import Recorder
from vecpatch.apply.session import Endpoint, error_text
from vecpatch.apply.smoke import Baseline, index_recalls
from vecpatch.apply.soak import soak
from vecpatch.apply.update import UpdateFailed, UpdateResult, run_update
from vecpatch.plan import DatabasePlan, TargetPlan
from vecpatch.probe.facts import DatabaseFacts


@dataclass
class Job:
    """Everything needed to apply one database."""

    tplan: TargetPlan
    dplan: DatabasePlan
    facts: DatabaseFacts
    endpoint: Endpoint
    run: DatabaseRun
    server_major: int
    window: str | None = None
    gate: str | None = None
    """Why the stage gate refuses this database (:mod:`vecpatch.apply.stagegate`)."""
    lock: ApplyLock | None = None
    notes: list[str] = field(default_factory=list)
    baseline: Baseline = field(default_factory=dict)

    def release(self) -> None:
        if self.lock is not None:
            self.lock.release()
            self.lock = None


def execute(job: Job, opts: ApplyOptions, rec: Recorder, backup_root: Path) -> None:
    """Run the job to its end; outcome and reasons are left on ``job.run``."""
    try:
        if not _lock(job, rec):
            return
        if not _backup(job, opts, rec, backup_root):
            return
        _baseline(job, rec)
        result = _update(job, opts, rec)
        if result is None:
            return
        _after_commit(job, opts, rec, result)
    finally:
        job.release()


def _lock(job: Job, rec: Recorder) -> bool:
    """Take the database's apply lock for the rest of the job (refuse if another has it)."""
    try:
        with rec.step(job.run, "lock") as detail:
            job.lock = acquire(job.endpoint)
            detail["pid"] = job.lock.pid
        return True
    except (LockBusy, psycopg.Error) as exc:
        job.run.outcome = Outcome.REFUSED
        job.run.reasons.append(job.endpoint.clean(str(exc)))
        return False


def _backup(job: Job, opts: ApplyOptions, rec: Recorder, backup_root: Path) -> bool:
    run = job.run
    dest = backup_root / _safe(run.target) / _safe(run.database)
    try:
        with rec.step(run, "backup") as detail:
            run.backup = take_backup(job.endpoint, job.facts, opts, dest, job.server_major)
            detail.update(run.backup)
        return True
    except (BackupFailed, BinariesNotFound, OSError, psycopg.Error) as exc:
        text = job.endpoint.clean(str(exc))
        run.outcome = Outcome.FAILED
        run.reasons.append(f"backup failed, nothing changed: {text}")
        rec.incident(run, f"apply backup failed on {run.label}", text)
        return False


def _baseline(job: Job, rec: Recorder) -> None:
    """Each index's recall before the update, from its own session (the update's stays fresh)."""
    if not job.facts.indexes:
        return
    try:
        with (
            rec.step(job.run, "baseline") as detail,
            job.endpoint.connect(autocommit=False) as conn,
        ):
            job.baseline = index_recalls(conn, job.facts)
            conn.rollback()
            detail["recall"] = {k: round(v.mean, 4) for k, v in job.baseline.items()}
    except psycopg.Error as exc:
        job.run.warnings.append(f"no recall baseline: {error_text(exc, job.endpoint)}")


def _update(job: Job, opts: ApplyOptions, rec: Recorder) -> UpdateResult | None:
    run = job.run
    target = str(job.dplan.target)
    try:
        with rec.step(run, "update") as detail:
            result = run_update(job.endpoint, target, job.facts, opts, run.sql, job.baseline)
            detail.update(attempts=result.attempts, to=target)
        run.checks += result.checks
        run.committed_at = result.committed_at
        return result
    except UpdateFailed as exc:
        run.checks += exc.checks
        _after_failure(job, rec, exc)
        return None


def _after_failure(job: Job, rec: Recorder, exc: UpdateFailed) -> None:
    """Say for certain what state the database is in, from a new session if possible."""
    run = job.run
    found: str | None = None
    try:
        with job.endpoint.connect() as conn:
            found = extversion(conn)
        run.checks.append(
            Check("extversion after failure (new session)", found == run.installed, str(found))
        )
    except psycopg.Error as e:
        run.warnings.append(f"could not re-read extversion: {error_text(e, job.endpoint)}")
    if found == run.installed or (found is None and exc.unchanged):
        run.outcome = Outcome.FAILED
        run.reasons.append(f"{exc}; rolled back, database unchanged at {run.installed}")
    elif found == run.to:
        run.outcome = Outcome.POST_COMMIT_FAILED
        run.reasons.append(f"{exc}; but the update did commit ({found})")
        run.next_steps.append("verify the database and re-run apply to finish post-commit steps")
    else:
        run.outcome = Outcome.POST_COMMIT_FAILED
        run.reasons.append(f"{exc}; the outcome of COMMIT is unknown")
        run.next_steps.append("check extversion in the database before doing anything else")
    rec.incident(run, f"apply failed on {run.label}", "; ".join(run.reasons))


def _after_commit(job: Job, opts: ApplyOptions, rec: Recorder, result: UpdateResult) -> None:
    run = job.run
    problems: list[str] = []
    with rec.step(run, "verify") as detail:
        checks = verify(job.endpoint, str(job.dplan.target), job.facts, opts, job.baseline)
        run.checks += checks
        problems += [f"{c.name}: {c.detail}" for c in checks if not c.ok]
        detail["checks"] = len(checks)
        detail["outcome"] = "failed" if problems else "ok"
    for action in job.dplan.actions:
        if action.kind == "reindex":
            with rec.step(run, "action") as detail:
                check = run_action(job.endpoint, action, run.sql)
                run.checks.append(check)
                detail.update(description=action.description, ok=check.ok)
            if not check.ok:
                problems.append(f"{check.name}: {check.detail}")
        else:
            run.warnings.append(f"{action.kind}: {action.description}")
    problems += _stale(job, opts, rec, result)
    if opts.soak > 0:
        with rec.step(run, "soak") as detail:
            run.soak = soak(job.endpoint, opts.soak, result.committed_at)
            detail.update(run.soak)
        if run.soak.get("log_check") == "skipped" and not run.soak.get("error"):
            run.warnings.append(f"soak: server log not checked ({run.soak.get('log')})")
        if run.soak.get("outcome") == "failed":
            problems.append(
                f"soak found errors: {run.soak.get('log_errors') or run.soak.get('error')}"
            )
    if problems:
        run.outcome = Outcome.POST_COMMIT_FAILED
        run.reasons += problems
        run.next_steps.append(
            f"the update committed; investigate, then restore with `vecpatch rollback {rec.run_id}`"
            " if the application is affected"
        )
        rec.incident(run, f"post-commit check failed on {run.label}", "; ".join(problems))
    else:
        run.outcome = Outcome.APPLIED


def _stale(job: Job, opts: ApplyOptions, rec: Recorder, result: UpdateResult) -> list[str]:
    run = job.run
    cutoff = result.cutoff or result.committed_at
    with rec.step(run, "stale-sessions") as detail:
        try:
            found = stale_sessions(job.endpoint, cutoff)
        except psycopg.Error as exc:
            detail["outcome"] = "failed"
            return [f"cannot list sessions: {error_text(exc, job.endpoint)}"]
        run.stale_sessions = found
        detail["found"] = len(found)
        if not found:
            return []
        if not (opts.reconnect_stale or opts.reconnect_hook):
            detail["outcome"] = "warning"
            run.warnings.append(
                f"{len(found)} session(s) started before the update and may run the old "
                "vector.so until they reconnect"
            )
            run.next_steps.append(
                "reconnect them (restart the pool) or re-run with --reconnect-stale"
            )
            return []
        check, remaining = reconnect(job.endpoint, found, opts, cutoff)
        run.checks.append(check)
        detail["remaining"] = len(remaining)
        detail["outcome"] = "ok" if check.ok else "failed"
        return [] if check.ok else [f"{check.name}: {check.detail}"]


def _safe(text: str) -> str:
    """A folder name for a target or database: readable, and unique (a hash of the raw name),
    so ``a b`` and ``a_b`` never share one backup folder."""
    readable = "".join(c if c.isalnum() or c in "._-" else "_" for c in text)[:60]
    return f"{readable}-{hashlib.sha256(text.encode()).hexdigest()[:8]}"
