"""Target-level operator steps that must come before ``ALTER EXTENSION``, in this order.

1. PostgreSQL minor update (new binaries + restart): apply never restarts a server
   itself; it runs ``--pg-minor-hook`` when configured, else reports the step as a
   required operator step. 2. The package step (the new ``vector.so`` and scripts on
   disk) through the target's package hook. After either, the target is probed and
   planned again (``replan``, injected by the runner, so this module needs neither the
   prober nor the planner's policy), so the extension step works from what is there now.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

import psycopg

from vecpatch.apply.hooks import run_hook
from vecpatch.apply.job import Job
from vecpatch.apply.model import ApplyOptions, Outcome, Step, Ui
from vecpatch.apply.preflight import plan_reasons
from vecpatch.apply.recorder import Recorder
from vecpatch.placeholders import fill
from vecpatch.plan import Status, TargetPlan
from vecpatch.probe.facts import TargetFacts
from vecpatch.targets import Target

Replan = Callable[[Target], tuple[TargetFacts, TargetPlan]]
"""Probe one target again and plan it with the run's policy."""


def run_target_steps(
    jobs: list[Job],
    opts: ApplyOptions,
    rec: Recorder,
    replan: Replan,
    targets: Mapping[str, Target],
    notes: list[str],
    ui: Ui,
) -> list[Job]:
    """Run each target's minor and package steps; return the jobs still good to go."""
    kept: list[Job] = []
    for name in dict.fromkeys(j.run.target for j in jobs):
        mine = [j for j in jobs if j.run.target == name]
        if _target_steps(mine, opts, rec, replan, targets[name], notes, ui):
            kept += [j for j in mine if j.run.outcome is Outcome.NOTHING]
    return kept


def _target_steps(
    mine: list[Job],
    opts: ApplyOptions,
    rec: Recorder,
    replan: Replan,
    target: Target,
    notes: list[str],
    ui: Ui,
) -> bool:
    first = mine[0]
    tplan = first.tplan
    changed = False
    if tplan.pg_minor is not None:
        minor = tplan.pg_minor
        if opts.pg_minor_hook:
            for job in mine:
                job.release()  # the restart ends every session
            values = {
                "host": first.endpoint.host,
                "pg_major": str(first.server_major),
                "version": minor.target,
            }
            if not _hook(mine, rec, "pg-minor", fill(opts.pg_minor_hook, values)):
                return False
            _wait_reachable(first, 120.0)
            changed = True
        else:
            note = (
                f"{target.name}: required operator step, not done by apply: PostgreSQL "
                f"{minor.current} -> {minor.target} (new binaries and a restart; "
                "--pg-minor-hook CMD runs it before the extension step)"
            )
            notes.append(note)
            ui.info(note)
    package = tplan.package
    if package and package.hook_command and any(j.dplan.needs_package for j in mine):
        if not _hook(mine, rec, "package", package.hook_command):
            return False
        changed = True
    if changed:
        _replan(mine, opts, replan, target)
    return True


def _hook(mine: list[Job], rec: Recorder, step: str, command: str) -> bool:
    first = mine[0]
    _conninfo, env = first.endpoint.child_env()
    started = datetime.now(UTC)
    result = run_hook(command, env, first.endpoint.secrets)
    detail = {"command": result.command, "exit": result.returncode, "output": result.output}
    for job in mine:
        rec.add(
            job.run, Step(step, "ok" if result.ok else "failed", started, result.duration, detail)
        )
        if not result.ok:
            job.run.outcome = Outcome.FAILED
            job.run.reasons.append(f"{step} hook exited {result.returncode}: {result.output}")
            job.release()
    return result.ok


def _wait_reachable(job: Job, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with job.endpoint.connect():
                return
        except psycopg.OperationalError:
            time.sleep(0.5)


def _replan(mine: list[Job], opts: ApplyOptions, replan: Replan, target: Target) -> None:
    facts, tplan = replan(target)
    dplans = {d.database: d for d in tplan.databases}
    dfacts = {d.name: d for d in facts.databases}
    for job in mine:
        if job.run.outcome is not Outcome.NOTHING:
            continue
        dplan = dplans.get(job.run.database)
        if dplan is None or job.run.database not in dfacts or facts.server is None:
            job.run.outcome = Outcome.FAILED
            job.run.reasons.append("database not seen again after the operator steps")
            continue
        job.tplan, job.dplan, job.facts = tplan, dplan, dfacts[job.run.database]
        job.server_major = facts.server.major
        reasons = plan_reasons(tplan, dplan, opts)
        if dplan.status is not Status.PLANNED:
            reasons.append(f"after the operator steps the plan says {dplan.status.value}")
        if reasons:
            job.run.outcome = Outcome.REFUSED
            job.run.reasons += reasons
            job.release()
