"""One database's apply after preflight: backup -> update -> verify -> actions -> stale -> soak.

Each stage records a step; a failure before COMMIT ends the job with the database
unchanged (exit 1), a failure after it ends with "post-commit" and what to do next (exit 4).
A stop request (SIGINT/SIGTERM) before COMMIT ends it "interrupted", database unchanged;
after COMMIT the verification still runs and the remaining after-care is skipped.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from vecpatch.apply.backup import BackupFailed, extversion, take_backup
from vecpatch.apply.binaries import BinariesNotFound
from vecpatch.apply.interrupt import Interrupt
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


def execute(
    job: Job, opts: ApplyOptions, rec: Recorder, backup_root: Path, stop: Interrupt
) -> None:
    """Run the job to its end; outcome and reasons are left on ``job.run``."""
    try:
        if _stopped(job, stop, "before this database was started"):
            return
        if not _lock(job, rec):
            return
        if not _backup(job, opts, rec, backup_root, stop):
            return
        if _stopped(job, stop, "after the backup, before the update"):
            return
        _baseline(job, rec)
        if rec.failures:
            job.run.outcome = Outcome.FAILED
            job.run.reasons.append(
                "the history store cannot record this run ("
                + "; ".join(rec.failures[:2])
                + "); not updating a database whose backup could not be found again"
            )
            return
        with stop.unsettled():
            result = _update(job, opts, rec, stop)
            if result is None:
                return
            verified = _verify(job, opts, rec)
        _after_commit(job, opts, rec, result, verified, stop)
    finally:
        job.release()


def _stopped(job: Job, stop: Interrupt, when: str) -> bool:
    if not stop.is_set():
        return False
    job.run.outcome = Outcome.INTERRUPTED
    job.run.reasons.append(f"{stop.reason} {when}; database unchanged at {job.run.installed}")
    return True


def _lock(job: Job, rec: Recorder) -> bool:
    """Keep (or, after a restart, retake) the apply lock and re-check the plan under it.

    The lock is held from preflight on; a PostgreSQL minor restart ends that session, and
    another apply may have run in the gap, so the installed version is read again under
    the lock: a plan made for another version is refused, never applied twice.
    """
    run = job.run
    found: str | None = None
    try:
        with rec.step(run, "lock") as detail:
            held = job.lock is not None and not job.lock.conn.closed
            if not held:
                job.release()
                job.lock = acquire(job.endpoint)
            assert job.lock is not None
            found = extversion(job.lock.conn)
            detail.update(pid=job.lock.pid, held_since_preflight=held, extversion=found)
            detail.update({"from": run.installed, "to": run.to})
            if found != run.installed:
                detail["outcome"] = "refused"
    except (LockBusy, psycopg.Error) as exc:
        run.outcome = Outcome.REFUSED
        run.reasons.append(job.endpoint.clean(str(exc)))
        return False
    if found != run.installed:
        run.outcome = Outcome.REFUSED
        run.reasons.append(
            f"the plan is stale: the database is at {found} now, the plan was made for "
            f"{run.installed}; nothing done (re-run apply to plan again)"
        )
        return False
    return True


def _backup(
    job: Job, opts: ApplyOptions, rec: Recorder, backup_root: Path, stop: Interrupt
) -> bool:
    run = job.run
    dest = backup_root / _safe(run.target) / _safe(run.database)
    try:
        with rec.step(run, "backup") as detail:
            run.backup = take_backup(job.endpoint, job.facts, opts, dest, job.server_major, stop)
            detail.update(run.backup)
        return True
    except (BackupFailed, BinariesNotFound, OSError, psycopg.Error) as exc:
        text = job.endpoint.clean(str(exc))
        run.backup = None
        if stop.is_set():
            run.outcome = Outcome.INTERRUPTED
            run.reasons.append(
                f"{stop.reason} during the backup; no backup kept, database unchanged at "
                f"{run.installed}"
            )
            return False
        run.outcome = Outcome.FAILED
        run.reasons.append(f"backup failed, nothing changed (no backup kept): {text}")
        rec.incident(run, f"apply backup failed on {run.label}", text)
        return False


def _baseline(job: Job, rec: Recorder) -> None:
    """Each index's recall before the update, from its own session (the update's stays fresh)."""
    if not job.facts.indexes:
        return
    why: list[str] = []
    try:
        with (
            rec.step(job.run, "baseline") as detail,
            job.endpoint.connect(autocommit=False) as conn,
        ):
            job.baseline = index_recalls(conn, job.facts, why)
            conn.rollback()
            detail["recall"] = {k: round(v.mean, 4) for k, v in job.baseline.items()}
            if why:
                detail["not_measured"] = why
    except psycopg.Error as exc:
        why.append(error_text(exc, job.endpoint))
    if not job.baseline:
        job.run.warnings.append(
            "no recall baseline (indexes are judged against --recall-threshold only): "
            + ("; ".join(why) or "no index could be measured")
        )


def _update(job: Job, opts: ApplyOptions, rec: Recorder, stop: Interrupt) -> UpdateResult | None:
    run = job.run
    target = str(job.dplan.target)
    try:
        with rec.step(run, "update") as detail:
            result = run_update(job.endpoint, target, job.facts, opts, run.sql, job.baseline, stop)
            detail.update(
                attempts=result.attempts,
                to=target,
                committed_at=result.committed_at.isoformat(),
                cutoff=(result.cutoff or result.committed_at).isoformat(),
            )
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
        run.seen_after = found
        run.checks.append(
            Check("extversion after failure (new session)", found == run.installed, str(found))
        )
    except psycopg.Error as e:
        run.warnings.append(f"could not re-read extversion: {error_text(e, job.endpoint)}")
    if exc.interrupted and (found == run.installed or (found is None and exc.unchanged)):
        run.outcome = Outcome.INTERRUPTED
        run.reasons.append(f"{exc}; rolled back, database unchanged at {run.installed}")
        return
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


def _verify(job: Job, opts: ApplyOptions, rec: Recorder) -> list[str]:
    """The committed update, checked from a brand-new session: the database state, known."""
    run = job.run
    with rec.step(run, "verify") as detail:
        checks = verify(job.endpoint, str(job.dplan.target), job.facts, opts, job.baseline)
        run.checks += checks
        problems = [f"{c.name}: {c.detail}" for c in checks if not c.ok]
        detail["checks"] = len(checks)
        detail["outcome"] = "failed" if problems else "ok"
    return problems


def _after_commit(
    job: Job,
    opts: ApplyOptions,
    rec: Recorder,
    result: UpdateResult,
    problems: list[str],
    stop: Interrupt,
) -> None:
    run = job.run
    skipped: list[str] = []
    for action in job.dplan.actions:
        if action.kind != "reindex":
            run.warnings.append(f"{action.kind}: {action.description}")
        elif stop.is_set():
            skipped.append(f"action: {action.description}")
        else:
            with rec.step(run, "action") as detail:
                check = run_action(job.endpoint, action, run.sql)
                run.checks.append(check)
                detail.update(description=action.description, ok=check.ok)
                detail["outcome"] = "ok" if check.ok else "failed"
            if not check.ok:
                problems.append(f"{check.name}: {check.detail}")
    if stop.is_set():
        skipped.append("stale sessions")
    else:
        problems += _stale(job, opts, rec, result)
    if opts.soak > 0 and stop.is_set():
        skipped.append("soak")
    elif opts.soak > 0:
        problems += _soak(job, opts, rec, result, stop)
    if stop.is_set():
        problems.insert(
            0,
            f"{stop.reason} after COMMIT: the update to {run.to} is in place (checked from a "
            f"new session); not done: {', '.join(skipped) or 'nothing'}",
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


def _soak(
    job: Job, opts: ApplyOptions, rec: Recorder, result: UpdateResult, stop: Interrupt
) -> list[str]:
    """A soak that finds errors (or cannot look) is a failed step and a failed run."""
    run = job.run
    with rec.step(run, "soak") as detail:
        stop.phase("soak")
        run.soak = soak(job.endpoint, opts.soak, result.committed_at, stop.wait)
        detail.update(run.soak)
        outcome = str(run.soak.get("outcome", "failed"))
        detail["outcome"] = "stopped" if run.soak.get("stopped") else outcome
    if run.soak.get("log_check") == "skipped" and not run.soak.get("error"):
        run.warnings.append(f"soak: server log not checked ({run.soak.get('log')})")
    if stop.is_set() and run.soak.get("stopped"):
        return [f"soak cut short after {run.soak.get('watched', 0):.0f} s: {stop.reason}"]
    if outcome != "failed":
        return []
    return [f"soak found errors: {run.soak.get('log_errors') or run.soak.get('error')}"]


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
                "reconnect them (restart the pool), or run `vecpatch apply --recycle-stale "
                f"{rec.run_id}` with the same targets to terminate the ones still open"
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
