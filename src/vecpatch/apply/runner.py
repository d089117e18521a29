"""The apply use case: probe -> plan -> gate and preflight -> confirm -> hooks -> jobs -> evidence.

Orchestration only. Preflight of every database runs before anything is asked or
changed, so a refusal lists every reason at once; target-level operator steps (a
PostgreSQL minor hook, then the package hook) run before any ``ALTER EXTENSION`` of that
target, never in the same transaction; databases then run concurrently (``concurrency``).
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from vecpatch.apply import stagegate, targetsteps
from vecpatch.apply.abandoned import PROCESS_STEP, identity
from vecpatch.apply.evidence import write_bundle
from vecpatch.apply.gate import window_refusal
from vecpatch.apply.interrupt import Interrupt
from vecpatch.apply.job import Job, execute
from vecpatch.apply.lock import LockBusy, acquire
from vecpatch.apply.model import (
    ApplyOptions,
    ApplyResult,
    DatabaseRun,
    Outcome,
    Step,
    Ui,
    worst,
)
from vecpatch.apply.preflight import check_database, plan_reasons
from vecpatch.apply.recorder import Recorder
from vecpatch.apply.session import Endpoint, error_text
from vecpatch.catalog.model import Catalog
from vecpatch.history.store import HistoryStore
from vecpatch.paths import state_dir
from vecpatch.plan import Plan, PlanPolicy, Policy, Status, TargetPlan, plan_target
from vecpatch.probe.facts import TargetFacts
from vecpatch.scan import ScanOptions, probe, target_secrets
from vecpatch.targets import ConnInfoError, Target, resolve_conninfo


def plan_policy(opts: ApplyOptions, target: Target | None = None) -> PlanPolicy:
    """The planner's policy for one target (its own package hook wins over the option)."""
    hook = (target.package_hook if target else None) or opts.package_hook
    driver = target.driver if target else None
    if opts.to:
        return PlanPolicy(policy=Policy.PINNED, pinned=opts.to, package_hook=hook, driver=driver)
    return PlanPolicy(policy=opts.policy, package_hook=hook, driver=driver)


def make_plan(
    facts: list[TargetFacts],
    targets: Mapping[str, Target],
    catalog: Catalog,
    opts: ApplyOptions,
    now: datetime,
) -> Plan:
    """The plan, each target planned with its own package hook."""
    plans = tuple(
        plan_target(f, catalog, plan_policy(opts, targets.get(f.target)), now) for f in facts
    )
    return Plan(now, plan_policy(opts), plans, catalog.generated_at)


def run_apply(
    targets: list[Target],
    opts: ApplyOptions,
    catalog: Catalog,
    store: HistoryStore | None,
    ui: Ui,
    environ: Mapping[str, str] = os.environ,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    interrupt: Interrupt | None = None,
) -> ApplyResult:
    """Apply the plan to every selected target; never raises for a database problem.

    The history is written first and the evidence after it; a failure to write either is
    reported on the result (never raised), and after a COMMIT it makes the run exit 4.
    """
    stop = interrupt or Interrupt()
    run_id = str(uuid.uuid4())
    started = now()
    secrets = tuple(target_secrets(targets, environ))
    rec = Recorder(run_id, store)
    notes: list[str] = []
    if store is not None:
        store.add_secrets(*secrets)
        store.start_run("apply", run_id=run_id, started_at=started)
        whole = DatabaseRun("*", "*", None, None)
        rec.add(whole, Step(PROCESS_STEP, "ok", started, 0.0, identity()))
    runs: list[DatabaseRun] = []
    plan: Plan | None = None
    facts: list[TargetFacts] = []
    try:
        facts = probe(targets, ScanOptions(concurrency=opts.concurrency), environ=environ)
        stop.phase("probe")
        plan = make_plan(facts, {t.name: t for t in targets}, catalog, opts, started)
        _run_jobs(
            plan, facts, targets, opts, catalog, rec, run_id, environ, runs, notes, ui, stop, store
        )
    except Exception as exc:  # a bug must not leave the run unrecorded
        notes.append(f"internal error, the run stopped: {type(exc).__name__}: {exc}")
        if not runs:
            runs.append(_refused("*", "*", None, None, "the run stopped before any database"))
    outcome = worst([r.outcome for r in runs])
    if stop.is_set() and outcome in (Outcome.NOTHING, Outcome.DRY_RUN, Outcome.APPLIED):
        outcome = Outcome.INTERRUPTED
    result = ApplyResult(run_id, outcome, tuple(runs), None, tuple(notes))
    return _close(
        result, opts, plan, facts, targets, environ, store, rec, secrets, stop, started, now
    )


def _run_jobs(
    plan: Plan,
    facts: list[TargetFacts],
    targets: list[Target],
    opts: ApplyOptions,
    catalog: Catalog,
    rec: Recorder,
    run_id: str,
    environ: Mapping[str, str],
    runs: list[DatabaseRun],
    notes: list[str],
    ui: Ui,
    stop: Interrupt,
    store: HistoryStore | None,
) -> None:
    """Preflight every database (keeping its lock), confirm, operator steps, then the jobs."""
    by_name = {t.name: t for t in targets}
    jobs = _jobs(plan, facts, by_name, opts, run_id, environ, runs, plan.created_at, store)
    runs += [job.run for job in jobs]
    try:
        _parallel(opts, jobs, _guarded(lambda j: _prepare(j, opts, rec, stop)))
        ready = [j for j in jobs if j.run.outcome is Outcome.NOTHING]
        if opts.dry_run:
            for job in ready:
                job.run.outcome = Outcome.DRY_RUN
            return
        ready = _confirmed(ready, opts, ui, stop)

        def replan(target: Target) -> tuple[TargetFacts, TargetPlan]:
            seen = probe([target], ScanOptions(concurrency=1), environ=environ)[0]
            return seen, plan_target(seen, catalog, plan_policy(opts, target), datetime.now(UTC))

        ready = targetsteps.run_target_steps(ready, opts, rec, replan, by_name, notes, ui)
        backup_root = (opts.backup_dir or state_dir() / "backups") / run_id
        _parallel(opts, ready, _guarded(lambda j: execute(j, opts, rec, backup_root, stop)))
    finally:
        for job in jobs:
            job.release()


def _close(
    result: ApplyResult,
    opts: ApplyOptions,
    plan: Plan | None,
    facts: list[TargetFacts],
    targets: list[Target],
    environ: Mapping[str, str],
    store: HistoryStore | None,
    rec: Recorder,
    secrets: tuple[str, ...],
    stop: Interrupt,
    started: datetime,
    now: Callable[[], datetime],
) -> ApplyResult:
    """History first, then the evidence (with a fallback folder); problems become notes."""
    notes = list(result.notes)
    after: list[TargetFacts] = []
    if stop.hard:
        notes.append("facts after the run: not probed (stopped by a second signal)")
    else:
        try:
            after = _facts_after(targets, result, opts, environ)
        except Exception as exc:  # the record matters more than the second look
            notes.append(f"facts after the run: not probed: {type(exc).__name__}: {exc}")
    folder = (opts.evidence_dir or state_dir() / "evidence") / result.run_id
    notes += [f"history: {f}" for f in rec.failures]
    if store is not None:
        notes += _finish(store, result, folder)
    doc = _evidence(result, opts, plan, facts, after, started, now())
    written, problems = _write_evidence(folder, doc, secrets)
    notes += problems
    committed = any(r.committed_at is not None for r in result.databases)
    outcome = result.outcome
    if committed and (problems or rec.failures) and outcome is Outcome.APPLIED:
        outcome = Outcome.POST_COMMIT_FAILED
    final = replace(result, outcome=outcome, evidence_dir=written, notes=tuple(notes))
    if store is not None and (written != folder or final.outcome is not result.outcome):
        _finish(store, final, written)
    return final


def _finish(store: HistoryStore, result: ApplyResult, folder: Path | None) -> list[str]:
    summary = {
        "outcome": result.outcome.value,
        "databases": len(result.databases),
        "states": {r.label: r.state for r in result.databases},
        "evidence": str(folder) if folder else None,
    }
    try:
        store.finish_run(result.run_id, result.outcome.value, summary)
    except Exception as exc:  # reported, never raised: the database state is already known
        return [f"history: the run could not be closed: {type(exc).__name__}: {exc}"]
    return []


def _write_evidence(
    folder: Path, doc: dict[str, Any], secrets: tuple[str, ...]
) -> tuple[Path | None, list[str]]:
    """Write the bundle; if the folder cannot take it (full disk), try the fallback."""
    fallback = Path(tempfile.gettempdir()) / "vecpatch-evidence" / folder.name
    problems: list[str] = []
    for where in (folder, fallback):
        try:
            return write_bundle(where, doc, secrets), problems
        except OSError as exc:
            problems.append(f"evidence could not be written to {where}: {exc}")
    return None, problems


def _jobs(
    plan: Plan,
    facts: list[TargetFacts],
    targets: Mapping[str, Target],
    opts: ApplyOptions,
    run_id: str,
    environ: Mapping[str, str],
    runs: list[DatabaseRun],
    started: datetime,
    store: HistoryStore | None = None,
) -> list[Job]:
    by_target = {f.target: f for f in facts}
    jobs: list[Job] = []
    for tplan in plan.targets:
        target = targets[tplan.target]
        tfacts = by_target[tplan.target]
        if tplan.skipped or tfacts.server is None:
            runs.append(_refused(tplan.target, "*", None, None, tplan.skipped or "not probed"))
            continue
        window = None if opts.now else window_refusal(target.window, target.timezone, started)
        resolved = resolve_conninfo(target, environ)
        dbfacts = {d.name: d for d in tfacts.databases}
        for dplan in tplan.databases:
            run = DatabaseRun(tplan.target, dplan.database, dplan.installed, dplan.target)
            if dplan.status is Status.BLOCKED:
                run.outcome = Outcome.REFUSED
                run.reasons += [*dplan.blockers, *([window] if window else [])]
                runs.append(run)
                continue
            if dplan.status is not Status.PLANNED or isinstance(resolved, ConnInfoError):
                run.warnings += list(dplan.reasons)
                runs.append(run)
                continue
            endpoint = Endpoint(
                target.name,
                dplan.database,
                resolved.for_database(dplan.database),
                f"vecpatch apply {run_id}",
                max(1, round(opts.statement_timeout * 1000)),
            )
            job = Job(tplan, dplan, dbfacts[dplan.database], endpoint, run, tfacts.server.major)
            job.window = window
            _stage_gate(job, target, store, opts, started)
            jobs.append(job)
    return jobs


def _stage_gate(
    job: Job, target: Target, store: HistoryStore | None, opts: ApplyOptions, now: datetime
) -> None:
    """Production needs a passing stage of this very update, or the operator's reason."""
    wanted = stagegate.Wanted(target.name, target.environment, str(job.dplan.installed),
                              str(job.dplan.target), str(job.server_major))  # fmt: skip
    refusal = stagegate.refusal(store, wanted, opts.stage_gate_age, now)
    if refusal and opts.no_stage_gate:
        job.run.warnings.append(f"stage gate overridden (--no-stage-gate): {opts.no_stage_gate}")
    elif refusal:
        job.gate = refusal


def _refused(
    target: str, database: str, installed: str | None, to: str | None, why: str
) -> DatabaseRun:
    run = DatabaseRun(target, database, installed, to, Outcome.REFUSED)
    run.reasons.append(why)
    return run


def _prepare(job: Job, opts: ApplyOptions, rec: Recorder, stop: Interrupt) -> None:
    """Lock and preflight one database; refusal reasons all at once.

    The lock is kept until the job ends, so no other apply can change the database between
    this preflight and the update (a stale plan is never applied).
    """
    run = job.run
    if stop.is_set():
        run.outcome = Outcome.INTERRUPTED
        run.reasons.append(f"{stop.reason} before preflight; database unchanged")
        return
    reasons = plan_reasons(job.tplan, job.dplan, opts)
    if job.window:
        reasons.append(job.window)
    if job.gate:
        reasons.append(job.gate)
    try:
        job.lock = acquire(job.endpoint)
    except LockBusy as exc:
        reasons.append(str(exc))
    except psycopg.Error as exc:
        reasons.append(f"cannot connect: {error_text(exc, job.endpoint)}")
    if job.lock is not None:
        backup_dir = opts.backup_dir or state_dir() / "backups"
        pre = check_database(job.lock.conn, job.dplan, opts, backup_dir, job.server_major)
        reasons += [r for r in pre.reasons if r not in reasons]
        run.warnings += pre.warnings
    if reasons:
        run.outcome = Outcome.REFUSED
        run.reasons += reasons
        job.release()


def _confirmed(jobs: list[Job], opts: ApplyOptions, ui: Ui, stop: Interrupt) -> list[Job]:
    if opts.yes:
        return jobs
    kept: list[Job] = []
    for target in dict.fromkeys(j.run.target for j in jobs):
        mine = [j for j in jobs if j.run.target == target]
        summary = ", ".join(f"{j.run.database} {j.run.installed} -> {j.run.to}" for j in mine)
        if not stop.is_set() and _ask(ui, stop, target, summary):
            kept += mine
            continue
        for job in mine:
            if stop.is_set():
                job.run.outcome = Outcome.INTERRUPTED
                job.run.reasons.append(f"{stop.reason} at the confirmation; database unchanged")
            else:
                job.run.outcome = Outcome.REFUSED
                job.run.reasons.append("not confirmed by the operator")
            job.release()
    return kept


def _ask(ui: Ui, stop: Interrupt, target: str, summary: str) -> bool:
    """The typed confirmation; a signal while it waits ends it (unconfirmed)."""
    stop.prompting = True
    try:
        return ui.confirm(target, summary)
    except (KeyboardInterrupt, EOFError):
        return False
    finally:
        stop.prompting = False


def _guarded(fn: Callable[[Job], None]) -> Callable[[Job], None]:
    """One database's unexpected error is its own result, never the end of the whole run.

    After COMMIT it is reported as a post-commit failure (the update did happen); before,
    as a failure with the database unchanged. The evidence and history are still written.
    """

    def run(job: Job) -> None:
        try:
            fn(job)
        except Exception as exc:  # any error must become data, not a crash
            text = job.endpoint.clean(f"{type(exc).__name__}: {exc}")
            if job.run.committed_at is not None:
                job.run.outcome = Outcome.POST_COMMIT_FAILED
                job.run.next_steps.append("check the database, then re-run apply")
            elif job.run.outcome is Outcome.NOTHING:
                job.run.outcome = Outcome.FAILED
            job.run.reasons.append(f"unexpected error: {text}")
            job.release()

    return run


def _parallel(opts: ApplyOptions, jobs: list[Job], fn: Callable[[Job], None]) -> None:
    if not jobs:
        return
    with ThreadPoolExecutor(max_workers=max(1, opts.concurrency)) as pool:
        list(pool.map(fn, jobs))


def _facts_after(
    targets: list[Target], result: ApplyResult, opts: ApplyOptions, environ: Mapping[str, str]
) -> list[TargetFacts]:
    changed = {r.target for r in result.databases if r.committed_at is not None}
    chosen = [t for t in targets if t.name in changed]
    return (
        probe(chosen, ScanOptions(concurrency=opts.concurrency), environ=environ) if chosen else []
    )


def _evidence(
    result: ApplyResult,
    opts: ApplyOptions,
    plan: Plan | None,
    before: list[TargetFacts],
    after: list[TargetFacts],
    started: datetime,
    finished: datetime,
) -> dict[str, Any]:
    return {
        "schema_version": "1.0",
        "run_id": result.run_id,
        "kind": "apply",
        "outcome": result.outcome.value,
        "exit_code": int(result.exit_code),
        "started_at": started.isoformat(),
        "finished_at": finished.isoformat(),
        "options": opts.public(),
        "notes": list(result.notes),
        "plan": plan.to_dict() if plan else None,
        "facts_before": [f.to_dict() for f in before],
        "facts_after": [f.to_dict() for f in after],
        "databases": [r.to_dict() for r in result.databases],
    }


def default_backup_dir(opts: ApplyOptions) -> Path:
    return opts.backup_dir or state_dir() / "backups"
