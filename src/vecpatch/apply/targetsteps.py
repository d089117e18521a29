"""Target-level operator steps that must come before ``ALTER EXTENSION``, in this order.

1. PostgreSQL minor update (new binaries + restart): apply never restarts a server
   itself; it runs ``--pg-minor-hook`` when configured, else reports the step as a
   required operator step. 2. The package step (the new ``vector.so`` and scripts on
   disk) through the target's package hook. After either, the target is probed and
   planned again, so the extension step works from what is really there now.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg import sql

from vecpatch.apply.hooks import run_hook
from vecpatch.apply.job import Job
from vecpatch.apply.model import ApplyOptions, Outcome, Step
from vecpatch.apply.preflight import plan_reasons
from vecpatch.apply.recorder import Recorder
from vecpatch.catalog.model import Catalog
from vecpatch.placeholders import fill
from vecpatch.plan import PackageStep, PgMinorStep, Status, plan_target
from vecpatch.platform import drivers
from vecpatch.scan import ScanOptions, probe
from vecpatch.targets import Target


def run_target_steps(
    jobs: list[Job],
    opts: ApplyOptions,
    rec: Recorder,
    catalog: Catalog,
    targets: Mapping[str, Target],
    environ: Mapping[str, str],
    notes: list[str],
    ui: Any,
) -> list[Job]:
    """Run each target's minor and package steps; return the jobs still good to go."""
    kept: list[Job] = []
    for name in dict.fromkeys(j.run.target for j in jobs):
        mine = [j for j in jobs if j.run.target == name]
        if _target_steps(mine, opts, rec, catalog, targets[name], environ, notes, ui):
            kept += [j for j in mine if j.run.outcome is Outcome.NOTHING]
    return kept


def _target_steps(
    mine: list[Job],
    opts: ApplyOptions,
    rec: Recorder,
    catalog: Catalog,
    target: Target,
    environ: Mapping[str, str],
    notes: list[str],
    ui: Any,
) -> bool:
    first = mine[0]
    tplan = first.tplan
    changed = False
    if tplan.pg_minor is not None:
        minor = tplan.pg_minor
        command = _minor_command(mine, opts, target, minor)
        if command is None:
            return False
        if command:
            for job in mine:
                job.release()  # the restart ends every session
            if not _hook(mine, rec, "pg-minor", command):
                return False
            _wait_reachable(first, 120.0)
            if not _verify_minor(mine, rec, minor.target, minor.current, notes, ui):
                return False
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
    if package and any(j.dplan.needs_package for j in mine):
        command = package.hook_command or _package_command(mine, target, package)
        if command is None:
            return False
        if command:
            if not _hook(mine, rec, "package", command):
                return False
            _verify_package(mine, rec, package.version, notes, ui)
            changed = True
    if changed:
        _replan(mine, opts, catalog, target, environ)
    return True


def _minor_command(
    mine: list[Job], opts: ApplyOptions, target: Target, minor: PgMinorStep
) -> str | None:
    """``--pg-minor-hook`` filled in, else the target's driver command; "" when neither
    (an operator step); None when the driver refused (the jobs say why)."""
    first = mine[0]
    if opts.pg_minor_hook:
        values = {
            "host": first.endpoint.host,
            "pg_major": str(first.server_major),
            "version": minor.target,
        }
        return fill(opts.pg_minor_hook, values)
    if target.driver is None:
        return ""
    try:
        return drivers.minor_command(target.driver, target.host_command, minor)
    except drivers.DriverRefused as exc:
        _refuse(mine, str(exc))
        return None


def _package_command(mine: list[Job], target: Target, package: PackageStep) -> str | None:
    if target.driver is None:
        return ""
    try:
        return drivers.package_command(target.driver, target.host_command, package)
    except drivers.DriverRefused as exc:
        _refuse(mine, str(exc))
        return None


def _refuse(mine: list[Job], reason: str) -> None:
    for job in mine:
        job.run.outcome = Outcome.REFUSED
        job.run.reasons.append(reason)
        job.release()


def _verify_minor(
    mine: list[Job], rec: Recorder, asked: str, before: str, notes: list[str], ui: Any
) -> bool:
    """The server must run a new minor now; another one than asked is recorded and shown."""
    got = _read_one(mine[0], "SELECT current_setting('server_version')")
    got = got.split()[0] if got else None
    outcome = "ok" if got == asked else "warning" if got and got != before else "failed"
    _record(mine, rec, "pg-minor-verify", outcome, {"asked": asked, "got": got})
    if outcome == "failed":
        for job in mine:
            job.run.outcome = Outcome.FAILED
            job.run.reasons.append(
                f"after the minor step the server reports {got or 'nothing'}, not {asked}"
            )
            job.release()
        return False
    if outcome == "warning":
        note = f"{mine[0].run.target}: PostgreSQL minor step asked {asked}, the server runs {got}"
        notes.append(note)
        ui.info(note)
    return True


def _verify_package(mine: list[Job], rec: Recorder, asked: str, notes: list[str], ui: Any) -> None:
    query = "SELECT default_version FROM pg_available_extensions WHERE name = 'vector'"
    got = _read_one(mine[0], query)
    outcome = "ok" if got == asked else "warning"
    _record(mine, rec, "package-verify", outcome, {"asked": asked, "got": got})
    if outcome == "warning":
        note = f"{mine[0].run.target}: package step asked pgvector {asked}, the files say {got}"
        notes.append(note)
        ui.info(note)


def _read_one(job: Job, query: str) -> str | None:
    try:
        with job.endpoint.connect() as conn:
            row = conn.execute(sql.SQL(query)).fetchone()
    except psycopg.Error:
        return None
    return str(row[0]) if row and row[0] is not None else None


def _record(
    mine: list[Job], rec: Recorder, step: str, outcome: str, detail: dict[str, Any]
) -> None:
    now = datetime.now(UTC)
    for job in mine:
        rec.add(job.run, Step(step, outcome, now, 0.0, dict(detail)))


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


def _replan(
    mine: list[Job],
    opts: ApplyOptions,
    catalog: Catalog,
    target: Target,
    environ: Mapping[str, str],
) -> None:
    from vecpatch.apply.runner import plan_policy  # runner imports this module

    facts = probe([target], ScanOptions(concurrency=1), environ=environ)[0]
    tplan = plan_target(facts, catalog, plan_policy(opts, target), datetime.now(UTC))
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
