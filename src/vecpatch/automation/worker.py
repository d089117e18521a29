"""Fleet jobs on many machines: per-target scans, stages and applies through Procrastinate
(a PostgreSQL queue).

Why Procrastinate: the history store can already live in PostgreSQL, so the queue can
too: no broker to run, jobs survive restarts, and any machine that reaches the queue
database can work. Why per target: a target is the unit the probe connects to, so a
slow or unreachable server holds up one job, not the fleet.

Results are the same as a local scan by construction: a job runs the same probe and
assessment and writes the same rows (through :mod:`vecpatch.scan_record`'s row
builders) into the one scan run the enqueuer opened; the job that completes the set
closes the run with the same summary a local scan writes.

An apply job is a local ``vecpatch apply`` of its one target: the same runner with the
options the enqueuer parsed (as JSON), recorded as its own ``apply`` run in the worker's
history with its own evidence. ``--yes`` was given at enqueue time, so nobody is asked;
a refused or failed apply is the job's result, never a retry (Procrastinate does not
retry these tasks: a second attempt must be an operator's decision).

A stage job is a local ``vecpatch stage --clone-from TARGET`` of its one target: the same
clone (a sandbox on the worker with production's schema and a sample of its vector
tables, production read-only) and the same runner, recorded as its own ``stage`` run in
the worker's history; the report (JSON, Markdown, HTML) goes to ``<output dir>/<run
id>/`` on the worker and the clone is destroyed. A failing stage, or a target that cannot
be cloned, is the job's result (exit code 1 or 2 in its summary), never a retry.

Secrets never enter the queue: a job carries the target's definition with its
credential *reference* (``env:NAME``, ``file:PATH``, ``pgpass``), and each worker
resolves it locally. Targets with inline passwords (in the DSN or the file) are refused.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import procrastinate
import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from vecpatch.apply.model import ApplyOptions
from vecpatch.atomic import atomic_write
from vecpatch.catalog.store import load_catalog
from vecpatch.errors import UsageError, VecpatchError
from vecpatch.findings import FindingKind
from vecpatch.history.store import HistoryStore
from vecpatch.paths import state_dir
from vecpatch.redact import redact_text
from vecpatch.report.model import ScanReport
from vecpatch.scan import ScanOptions, assess, probe, target_secrets
from vecpatch.scan_record import record_rows
from vecpatch.targets.model import Target
from vecpatch.usecases.apply import run_apply

if TYPE_CHECKING:
    from vecpatch.stage.runner import StageOptions

QUEUE = "vecpatch"
SCAN_TASK = "vecpatch.scan_target"
APPLY_TASK = "vecpatch.apply_target"
STAGE_TASK = "vecpatch.stage_target"
_SCHEMA_LOCK = 0x76717565  # "vque": one schema installer at a time
_FAILURE_KINDS = frozenset(k.value for k in FindingKind if k.is_scan_failure)
log = logging.getLogger("vecpatch.worker")


def queueable(target: Target) -> dict[str, Any]:
    """The job form of a target; UsageError if it would put a secret in the queue."""
    if target.password is not None and target.password.kind == "inline":
        raise UsageError(
            f"target {target.name}: an inline password cannot be queued",
            hint="reference it as env:NAME, file:PATH or pgpass so each worker resolves it",
        )
    if "password" in conninfo_to_dict(target.dsn):
        raise UsageError(
            f"target {target.name}: its DSN holds a password, which cannot be queued",
            hint='move it to `password = "env:NAME"` (or file:/pgpass) in the targets file',
        )
    doc = target.model_dump(mode="json")
    if target.password is not None:
        doc["password"] = {"kind": target.password.kind, "ref": target.password.ref}
    return doc


def ensure_schema(queue_dsn: str) -> None:
    """Install Procrastinate's tables once (serialised, so two starters do not race)."""
    schema = procrastinate.App(
        connector=procrastinate.PsycopgConnector(conninfo=queue_dsn)
    ).schema_manager.get_schema()
    with psycopg.connect(queue_dsn, autocommit=True) as conn, conn.transaction():
        conn.execute(sql.SQL("SELECT pg_advisory_xact_lock({})").format(_SCHEMA_LOCK))
        row = conn.execute(
            sql.SQL("SELECT to_regclass('procrastinate_jobs') IS NOT NULL")
        ).fetchone()
        if row is not None and not row[0]:
            conn.execute(sql.SQL(schema))


def make_app(queue_dsn: str) -> procrastinate.App:
    """A Procrastinate app with vecpatch's tasks registered."""
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=queue_dsn))
    app.task(name=SCAN_TASK, queue=QUEUE, pass_context=True)(scan_target_job)
    app.task(name=APPLY_TASK, queue=QUEUE, pass_context=True, retry=False)(apply_target_job)
    app.task(name=STAGE_TASK, queue=QUEUE, pass_context=True, retry=False)(stage_target_job)
    return app


def enqueue_scan(queue_dsn: str, targets: Sequence[Target], history: str | None) -> str:
    """Open one scan run in the history and queue one job per target; return the run id."""
    docs = [queueable(t) for t in targets]
    ensure_schema(queue_dsn)
    envs = {t.environment for t in targets}
    with HistoryStore.open(history) as store:
        run_id = store.start_run(
            "scan", environment=envs.pop() if len(envs) == 1 else None, started_at=_now()
        )
    _defer(queue_dsn, SCAN_TASK, docs, run_id=run_id, expected=len(docs))
    return run_id


def _defer(queue_dsn: str, task_name: str, docs: list[dict[str, Any]], **args: Any) -> int:
    """One job of ``task_name`` per target document, each with the same ``args``."""
    ensure_schema(queue_dsn)
    app = make_app(queue_dsn)
    with app.open():
        task = app.tasks[task_name]
        for doc in docs:
            task.defer(target=doc, **args)
    return len(docs)


def enqueue_apply(queue_dsn: str, targets: Sequence[Target], options: ApplyOptions) -> int:
    """Queue one apply job per target (each becomes its own apply run); return the count."""
    if not options.yes:
        raise UsageError("a worker cannot ask for confirmation: pass --yes to queue applies")
    if options.dry_run or options.before_commit is not None or options.extra_checks:
        raise UsageError("dry runs and test seams cannot be queued")
    if not options.to:
        raise UsageError(
            "a queued apply must name its version (--to)",
            hint="each worker would otherwise pick one from its own catalog when the job runs",
        )
    docs = [queueable(t) for t in targets]
    return _defer(queue_dsn, APPLY_TASK, docs, options=options.public())


def enqueue_stage(
    queue_dsn: str,
    targets: Sequence[Target],
    options: StageOptions,
    *,
    sample_rows: int,
    output_dir: Path | None,
) -> int:
    """Queue one stage job per target (each clones it and becomes its own stage run)."""
    if options.after_package is not None:
        raise UsageError("test seams cannot be queued")
    docs = [queueable(t) for t in targets]
    folder = str(output_dir) if output_dir is not None else None
    return _defer(
        queue_dsn, STAGE_TASK, docs, options=options.public(), sample_rows=sample_rows,
        output_dir=folder,
    )  # fmt: skip


def run_worker(
    queue_dsn: str,
    history: str | None,
    *,
    burst: bool,
    concurrency: int,
    name: str | None,
    allow_commands: bool = False,
) -> None:
    """Work the vecpatch queue; ``burst`` returns once it is empty (cron, tests).

    ``allow_commands``: run apply jobs that carry shell commands or a binaries folder
    (hooks, ``--backup-command``, ``--pg-bin``). Off by default: whoever can write to the
    queue would otherwise choose what runs on a machine holding production credentials.
    """
    ensure_schema(queue_dsn)
    make_app(queue_dsn).run_worker(
        queues=[QUEUE],
        wait=not burst,
        concurrency=concurrency,
        name=name,
        additional_context={"history": history, "allow_commands": allow_commands},
        listen_notify=not burst,
    )


def job_commands(target: Target, opts: ApplyOptions) -> list[str]:
    """The options of a queued apply that make the worker run something of the job's choice."""
    chosen = {
        "--backup-command": opts.backup_command,
        "--package-hook": opts.package_hook,
        "--reconnect-hook": opts.reconnect_hook,
        "--pg-minor-hook": opts.pg_minor_hook,
        "--pg-bin": opts.pg_bin,
        "the target's package_hook": target.package_hook,
    }
    return [name for name, value in chosen.items() if value]


def scan_target_job(
    context: procrastinate.JobContext, *, run_id: str, target: dict[str, Any], expected: int
) -> dict[str, Any]:
    """Probe, assess and record one target into the enqueuer's scan run."""
    history = (context.additional_context or {}).get("history")
    chosen = Target.model_validate(target)
    catalog = load_catalog(offline=True)
    options = ScanOptions(concurrency=1)
    facts = probe([chosen], options)
    report = assess(facts, catalog, _now(), options)
    with HistoryStore.open(history, secrets=target_secrets([chosen])) as store:
        record_target(store, run_id, report, facts, catalog)
        finished = finish_if_complete(store, run_id, expected)
    return {"target": chosen.name, "databases": report.database_count(), "closed_run": finished}


class _JobUi:
    """apply's Ui in a worker: progress goes to the log, nobody is there to confirm.

    The runner asks only when ``yes`` is false, which :func:`enqueue_apply` refuses; the
    answer mirrors the enqueuer's ``--yes`` all the same.
    """

    def __init__(self, yes: bool, secrets: tuple[str, ...]) -> None:
        self.yes = yes
        self.secrets = secrets

    def info(self, message: str) -> None:
        log.info("%s", redact_text(message, self.secrets))

    def confirm(self, target: str, summary: str) -> bool:
        return self.yes


def apply_target_job(
    context: procrastinate.JobContext, *, target: dict[str, Any], options: dict[str, Any]
) -> dict[str, Any]:
    """``vecpatch apply`` of one target, recorded as its own apply run; returns a summary.

    Never raises: a refused or failed apply, or an error before it could start, is the
    job's result (the task is never retried).
    """
    extra = context.additional_context or {}
    name = str(target.get("name", "?"))
    secrets: tuple[str, ...] = ()
    try:
        chosen = Target.model_validate(target)
        opts = ApplyOptions.from_public(options)
        secrets = tuple(target_secrets([chosen]))
        commands = job_commands(chosen, opts)
        if commands and not extra.get("allow_commands"):
            why = (
                f"the job carries commands or binaries to run ({', '.join(commands)}); "
                "start the worker with --allow-job-commands to run such jobs"
            )
            log.error("apply of %s refused: %s", chosen.name, why)
            return {"target": chosen.name, "outcome": "refused", "exit_code": 2, "error": why}
        with HistoryStore.open(extra.get("history"), secrets=secrets) as store:
            result = run_apply(
                [chosen], opts, load_catalog(offline=True), store, _JobUi(opts.yes, secrets)
            )
    except Exception as exc:  # a job's failure is its result, never a crash or a retry
        message = redact_text(f"{type(exc).__name__}: {exc}", secrets)
        log.error("apply of %s: %s", name, message)
        return {"target": name, "outcome": "error", "exit_code": 2, "error": message}
    return {
        "target": chosen.name,
        "outcome": result.outcome.value,
        "exit_code": int(result.exit_code),
        "run_id": result.run_id,
        "evidence_dir": str(result.evidence_dir) if result.evidence_dir else None,
        "databases": [
            {
                "database": d.database,
                "from": d.installed,
                "to": d.to,
                "outcome": d.outcome.value,
                "reasons": [redact_text(r, secrets) for r in d.reasons],
            }
            for d in result.databases
        ],
    }


def stage_target_job(
    context: procrastinate.JobContext,
    *,
    target: dict[str, Any],
    options: dict[str, Any],
    sample_rows: int,
    output_dir: str | None,
) -> dict[str, Any]:
    """``vecpatch stage --clone-from`` of one target, recorded as its own stage run."""
    from vecpatch.stage.render import StageFormat, render
    from vecpatch.stage.runner import StageOptions
    from vecpatch.usecases.stage import clone_staging, run_stage

    history = (context.additional_context or {}).get("history")
    chosen = Target.model_validate(target)
    opts = StageOptions.from_public(options)
    secrets = tuple(target_secrets([chosen]))

    def progress(message: str) -> None:
        log.info("%s: %s", chosen.name, redact_text(message, secrets))

    # unique per job: two jobs on one machine in the same second must not share a sandbox
    clone_id = f"{_now():%Y%m%d%H%M%S}-{uuid.uuid4().hex[:6]}"
    try:
        staging = clone_staging(chosen, clone_id, sample_rows, progress)
        report = run_stage(staging, opts, history, progress)
    except Exception as exc:  # a job's failure is its result, never a crash or a retry
        text = exc.message if isinstance(exc, VecpatchError) else f"{type(exc).__name__}: {exc}"
        message = redact_text(text, secrets)
        log.error("stage of %s: %s", chosen.name, message)
        return {
            "target": chosen.name,
            "verdict": "error",
            "exit_code": int(exc.exit_code) if isinstance(exc, VecpatchError) else 2,
            "run_id": None,
            "report": None,
            "failed_critical": [],
            "error": message,
        }
    hidden = (*secrets, *staging.endpoint.secrets)
    folder = (Path(output_dir) if output_dir else state_dir() / "stage") / report.run_id
    for fmt, name in ((StageFormat.JSON, "report.json"), (StageFormat.MARKDOWN, "report.md"),
                      (StageFormat.HTML, "report.html")):  # fmt: skip
        atomic_write(folder / name, redact_text(render(report, fmt), hidden))
    return {
        "target": chosen.name,
        "verdict": report.verdict.value,
        "exit_code": int(report.exit_code),
        "run_id": report.run_id,
        "from": report.installed,
        "to": report.target,
        "report": str(folder / "report.json"),
        "failed_critical": [c.id for c in report.critical_failures],
    }


def record_target(
    store: HistoryStore, run_id: str, report: ScanReport, facts: Any, catalog: Any
) -> None:
    """The rows a local scan writes for this target, under the shared run id."""
    record_rows(store, run_id, report, facts, catalog)


def finish_if_complete(store: HistoryStore, run_id: str, expected: int) -> bool:
    """Close the run, with a local scan's summary, once every target has reported."""
    rows = store.scan_results(run_id)
    if len({r.target for r in rows}) < expected:
        return False
    findings = store.findings_for_run(run_id)
    unscanned = sum(1 for f in findings if f.kind in _FAILURE_KINDS)
    summary = {
        "targets": expected,
        "databases": sum(1 for r in rows if r.database is not None),
        "findings": sum(1 for f in findings if not f.muted),
        "exposed": sum(1 for f in findings if f.exposed and not f.muted),
        "unscanned": unscanned,
    }
    store.finish_run(run_id, "ok" if not unscanned else "partial", summary)
    return True


def _now() -> datetime:
    return datetime.now(UTC)
