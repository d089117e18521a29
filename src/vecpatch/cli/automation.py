"""Automation commands: ``watch``, ``rollout``, ``init ci``, ``migration``, ``runbook``, ``worker``.

Parse, call :mod:`vecpatch.automation`, render. Recipient URLs and DSNs are secrets:
they are counted, never echoed.
"""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from vecpatch.apply.model import ApplyOptions, BackupKind
from vecpatch.atomic import atomic_write
from vecpatch.automation import migration
from vecpatch.cli.apply import NoStageGateOpt, apply_settings
from vecpatch.cli.console import err, info, out, redacting_filter
from vecpatch.cli.options import Fleet, duration, expand, fleet_options
from vecpatch.cli.plan import CooldownOpt, PolicyChoice, PolicyOpt, ToOpt, plan_policy
from vecpatch.cli.scan import TargetsArg, TargetsOpt
from vecpatch.cli.selection import EnvOpt, TagOpt, gather, targets_file_path
from vecpatch.cli.stage import stage_settings
from vecpatch.errors import UsageError
from vecpatch.exitcodes import ExitCode
from vecpatch.plan import build_plan

if TYPE_CHECKING:
    from vecpatch.automation.rollout import RolloutOptions, RolloutResult
    from vecpatch.automation.watch import WatchResult
    from vecpatch.automation.waves import Wave
    from vecpatch.stage.runner import StageOptions
    from vecpatch.targets.model import Target

History = Annotated[
    str | None,
    typer.Option("--history", envvar="VECPATCH_HISTORY", help="History store URL (SQLAlchemy)."),
]
NotifyOpt = Annotated[
    list[str],
    typer.Option(
        "--notify",
        help="Apprise URL to notify (repeatable; also $VECPATCH_NOTIFY, space-separated).",
        show_default=False,
    ),
]


def recipients(given: list[str]) -> tuple[str, ...]:
    """``--notify`` URLs plus ``$VECPATCH_NOTIFY``; each must look like an Apprise URL."""
    env = [u for u in re.split(r"[\s,]+", os.environ.get("VECPATCH_NOTIFY", "")) if u]
    urls = tuple(dict.fromkeys([*given, *env]))
    bad = [i for i, u in enumerate(urls, 1) if "://" not in u]
    if bad:
        raise UsageError(f"--notify value #{bad[0]} is not an Apprise URL (scheme://...)")
    return urls


def stakeholders(targets: list[Target]) -> dict[str, tuple[str, ...]]:
    return {t.name: t.stakeholders for t in targets if t.stakeholders}


def _offline_default() -> bool:
    return os.environ.get("VECPATCH_OFFLINE", "") not in ("", "0", "false", "no")


@expand(fleet=fleet_options)
def watch(
    fleet: Fleet,
    once: Annotated[bool, typer.Option("--once", help="One pass, then exit (for cron).")] = False,
    interval: Annotated[str, typer.Option("--interval", help="Time between passes.")] = "1h",
    offline: Annotated[bool, typer.Option("--offline", help="No feed update.")] = False,
    base_url: Annotated[
        list[str], typer.Option("--base-url", help="NAME=URL mirror for a feed.")
    ] = [],  # noqa: B006
    osv: Annotated[list[str], typer.Option("--osv", help="Extra OSV file or URL.")] = [],  # noqa: B006
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds per feed request.")] = 10.0,
    notify: NotifyOpt = [],  # noqa: B006
    history: History = None,
    window_days: Annotated[
        int, typer.Option("--window-days", min=1, help="Days allowed to apply an available fix.")
    ] = 30,
    warn_days: Annotated[
        int, typer.Option("--warn-days", min=0, help="Warn this many days before the window ends.")
    ] = 7,
    announce_ahead: Annotated[
        str, typer.Option("--announce-ahead", help="Announce maintenance this long before.")
    ] = "24h",
    digest_hour: Annotated[
        int | None,
        typer.Option("--digest-hour", min=0, max=23, help="Daily digest at this UTC hour."),
    ] = None,
    to: ToOpt = None,
    policy: PolicyOpt = PolicyChoice.latest,
    cooldown_days: CooldownOpt = 0,
    max_passes: Annotated[int, typer.Option("--max-passes", hidden=True)] = 0,
) -> None:
    """Update the catalog, rescan, record history and notify on what is new.

    Exit codes: 0 pass(es) done; 1 a notification could not be delivered (it is retried
    on the next pass); 2 usage or configuration error.
    """
    from vecpatch.automation.events import WindowPolicy
    from vecpatch.automation.notify import Notifier
    from vecpatch.automation.watch import WatchOptions, watch_once
    from vecpatch.history.store import HistoryStore
    from vecpatch.scan import target_secrets

    selection = fleet.gather()
    urls = recipients(notify)
    opts = WatchOptions(
        offline=offline or _offline_default(),
        base_urls=dict(u.split("=", 1) for u in base_url if "=" in u),
        osv_locations=tuple(osv),
        timeout=timeout,
        window=WindowPolicy(window_days, warn_days),
        announce_ahead=timedelta(seconds=duration(announce_ahead)),
        policy=plan_policy(to, policy, cooldown_days),
        digest_hour=digest_hour,
    )
    secrets = target_secrets(selection.targets)
    redacting_filter().add(*secrets, *urls)
    pause = duration(interval)
    failed = False
    with HistoryStore.open(history, secrets=[*secrets, *urls]) as store:
        notifier = Notifier(store, urls, stakeholders(selection.targets))
        passes = 0
        while True:
            result = watch_once(selection.targets, store, notifier, opts, lambda: datetime.now(UTC))
            _report_pass(result)
            failed = failed or result.delivery.failed > 0
            passes += 1
            if once or (max_passes and passes >= max_passes):
                break
            time.sleep(pause)
    raise typer.Exit(int(ExitCode.FINDINGS if failed else ExitCode.OK))


def _report_pass(result: WatchResult) -> None:
    d = result.delivery
    info(
        f"watch run {result.run_id}: feeds ok {len(result.fetched)}, skipped "
        f"{len(result.skipped)}; {len(result.events)} open event(s), {len(d.new_events)} new; "
        f"{d.messages} message(s) sent, {d.queued} queued for the digest, {d.failed} failed"
    )
    doc = {
        "run_id": result.run_id,
        "scan_run_id": result.scan_run_id,
        "fetched": result.fetched,
        "skipped": result.skipped,
        "new_events": [e.to_dict() for e in d.new_events],
        "messages": d.messages,
        "failed": d.failed,
        "queued": d.queued,
    }
    typer.echo(json.dumps(doc))


def _versions(
    selection: list[Target], to: str | None, policy: PolicyChoice, cooldown_days: int
) -> dict[str, str | None]:
    """Fixed per-target versions: ``--to`` everywhere, or the plan's (cooldown applied)."""
    from vecpatch.automation.rollout import versions_from_plan
    from vecpatch.catalog.store import load_catalog
    from vecpatch.scan import ScanOptions, probe

    if to is not None:
        plan_policy(to, policy, cooldown_days)  # validates the combination
        return {t.name: to for t in selection}
    chosen = plan_policy(None, policy, cooldown_days)
    hooks = {t.name: t.package_hook for t in selection if t.package_hook}
    facts = probe(selection, ScanOptions())
    plan = build_plan(facts, load_catalog(offline=True), chosen, datetime.now(UTC), hooks)
    return versions_from_plan(plan)


def rollout(
    targets: TargetsArg = None,
    targets_file: TargetsOpt = None,
    env: EnvOpt = None,
    tag: TagOpt = None,
    to: ToOpt = None,
    policy: PolicyOpt = PolicyChoice.latest,
    cooldown_days: CooldownOpt = 0,
    resume: Annotated[
        str | None, typer.Option("--resume", help="Continue this rollout where it stopped.")
    ] = None,
    bake: Annotated[str, typer.Option("--bake", help="Wait between waves, e.g. 10m.")] = "0s",
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-j", min=1, max=256, help="Targets at once.")
    ] = 2,
    max_failures: Annotated[
        int, typer.Option("--max-failures", min=1, help="Stop starting targets after N failures.")
    ] = 1,
    require_stage: Annotated[
        bool,
        typer.Option(
            "--require-stage/--no-require-stage",
            help="Past the staging waves, require the latest staging run to have passed.",
        ),
    ] = True,
    env_order: Annotated[
        str, typer.Option("--env-order", help="Environments that go first, in order.")
    ] = "staging,canary",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the schedule only.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Required to change targets.")] = False,
    now: Annotated[bool, typer.Option("--now", help="Ignore maintenance windows.")] = False,
    backup: Annotated[
        BackupKind, typer.Option("--backup", help="Backup before each update.")
    ] = BackupKind.PG_DUMP,
    backup_dir: Annotated[
        Path | None, typer.Option("--backup-dir", help="Backups go here.")
    ] = None,
    i_have_a_backup: Annotated[
        bool, typer.Option("--i-have-a-backup", help="Allow --backup none.")
    ] = False,
    soak: Annotated[str, typer.Option("--soak", help="apply's post-commit soak.")] = "120s",
    evidence_dir: Annotated[
        Path | None, typer.Option("--evidence-dir", help="Evidence goes here.")
    ] = None,
    pg_bin: Annotated[Path | None, typer.Option("--pg-bin", help="pg_dump/pg_restore dir.")] = None,
    history: History = None,
    notify: NotifyOpt = [],  # noqa: B006
    fmt: Annotated[str, typer.Option("--format", "-f", help="table or json.")] = "table",
    no_stage_gate: NoStageGateOpt = None,
) -> None:
    """Apply across the fleet in waves: gates, bake time, concurrency cap, halt, resume.

    Exit codes: 0 completed (or dry run); 1 halted or blocked by a gate (resume with
    --resume ROLLOUT_ID once the cause is fixed); 2 usage or configuration error.
    """
    from vecpatch.automation.applier import ApplyApplier
    from vecpatch.automation.notify import Event, Notifier
    from vecpatch.automation.rollout import Rollout, RolloutOptions
    from vecpatch.automation.waves import schedule
    from vecpatch.catalog.store import load_catalog
    from vecpatch.history.store import HistoryStore
    from vecpatch.scan import target_secrets

    if not (yes or dry_run):
        raise UsageError("rollout changes databases: pass --yes (or --dry-run to see the plan)")
    if backup is BackupKind.NONE and not i_have_a_backup:
        raise UsageError("--backup none needs --i-have-a-backup")
    selection = gather(targets, targets_file, env, tag).targets
    options = RolloutOptions(
        bake=duration(bake), concurrency=concurrency, max_failures=max_failures,
        require_stage=require_stage, env_order=tuple(e for e in env_order.split(",") if e),
    )  # fmt: skip
    if dry_run:
        versions = _versions(selection, to, policy, cooldown_days)
        _print_schedule(schedule(selection, options.env_order), versions, options)
        return
    secrets = target_secrets(selection)
    urls = recipients(notify)
    redacting_filter().add(*secrets, *urls)
    apply_opts = ApplyOptions(
        backup=backup, backup_dir=backup_dir, i_have_a_backup=i_have_a_backup, now=now,
        yes=True, soak=duration(soak), evidence_dir=evidence_dir, pg_bin=pg_bin,
        no_stage_gate=no_stage_gate,
    )  # fmt: skip
    with HistoryStore.open(history, secrets=[*secrets, *urls]) as store:
        applier = ApplyApplier(apply_opts, load_catalog(offline=True), store)
        engine = Rollout(store, applier, options)
        rollout_id = resume or engine.start(
            selection, _versions(selection, to, policy, cooldown_days)
        )
        result = engine.run(rollout_id, selection)
        event = Event(
            f"run:{rollout_id}:{result.status}", "outcome",
            f"rollout {rollout_id[:8]} {result.status}", result.reason or "",
            targets=tuple(result.states),
        )  # fmt: skip
        Notifier(store, urls, stakeholders(selection)).dispatch([event])
    _render_rollout(result, fmt)
    raise typer.Exit(int(ExitCode.OK if result.ok else ExitCode.FINDINGS))


def _print_schedule(
    waves: list[Wave], versions: dict[str, str | None], options: RolloutOptions
) -> None:
    gate = "after a passing staging run" if options.require_stage else "no staging gate"
    out.print(
        f"rollout schedule: {len(waves)} wave(s), at most {options.concurrency} at once, "
        f"halt after {options.max_failures} failure(s), bake {options.bake:g}s, {gate}"
    )
    for wave in waves:
        out.print(f"{wave.index}. {wave.label}")
        for name in wave.targets:
            out.print(f"   {name} -> {versions.get(name) or 'nothing to do'}")


def _render_rollout(result: RolloutResult, fmt: str) -> None:
    if fmt == "json":
        typer.echo(json.dumps(result.to_dict(), indent=2, default=str))
        return
    for wave in result.waves:
        out.print(f"{wave.index}. {wave.label}")
        for name in wave.targets:
            s = result.states[name]
            why = f"  ({'; '.join(s.reasons)})" if s.reasons else ""
            out.print(f"   {name}: {s.state} {s.outcome or ''}{why}")
    reason = f": {result.reason}" if result.reason else ""
    info(f"rollout {result.rollout_id}: {result.status}{reason}")
    if not result.ok:
        err.print(f"fix the cause, then: vecpatch rollout --resume {result.rollout_id} --yes ...")


init_app = typer.Typer(help="Set vecpatch up in other tools.", no_args_is_help=True)


@init_app.command("ci")
def init_ci(
    github: Annotated[
        bool, typer.Option("--github", help="Write .github/workflows/vecpatch.yml")
    ] = False,
    gitlab: Annotated[bool, typer.Option("--gitlab", help="Write vecpatch.gitlab-ci.yml")] = False,
    env: Annotated[
        str, typer.Option("--env", help="Environment the approved job updates.")
    ] = "production",
    targets_path: Annotated[
        str, typer.Option("--targets", help="Targets file in the repository.")
    ] = "vecpatch-targets.toml",
    fail_on: Annotated[
        str, typer.Option("--fail-on", help="low, medium, high or critical.")
    ] = "high",
    cron: Annotated[str, typer.Option("--cron", help="Scan schedule (UTC).")] = "17 5 * * *",
    action: Annotated[
        str, typer.Option("--action", help="apply or rollout (GitLab job).")
    ] = "apply",
    root: Annotated[Path, typer.Option("--dir", help="Repository root.")] = Path("."),
    to_stdout: Annotated[bool, typer.Option("--print", help="Print instead of writing.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing file.")] = False,
) -> None:
    """Write a CI workflow: scheduled scan with SARIF, threshold gate, approved update job."""
    from vecpatch.automation import ci

    if github == gitlab:
        raise UsageError("choose one of --github or --gitlab")
    platform = ci.Platform.GITHUB if github else ci.Platform.GITLAB
    opts = ci.CiOptions(env, targets_path, fail_on, cron, action)
    if to_stdout:
        typer.echo(ci.render(platform, opts), nl=False)
        return
    path = ci.write(platform, opts, root, force)
    info(f"wrote {path}")
    if platform is ci.Platform.GITLAB:
        info("include it from .gitlab-ci.yml:  include: [{local: vecpatch.gitlab-ci.yml}]")


def migration_cmd(
    tool: Annotated[migration.Tool, typer.Option("--tool", help="Migration tool.")],
    to: Annotated[str, typer.Option("--to", help="pgvector version to update to.")],
    from_: Annotated[
        str | None, typer.Option("--from", help="Version the database must be on.")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write into this migrations folder.")
    ] = None,
    lock_timeout: Annotated[str, typer.Option("--lock-timeout", help="Per attempt.")] = "2s",
    revision: Annotated[str | None, typer.Option("--revision", help="Alembic revision id.")] = None,
    revises: Annotated[str | None, typer.Option("--revises", help="Alembic down_revision.")] = None,
) -> None:
    """Print (or write into DIR) a guarded ALTER EXTENSION vector UPDATE migration."""
    spec = migration.Spec.checked(to, from_, int(duration(lock_timeout) * 1000))
    created = datetime.now(UTC)
    rev = migration.check_revision(revision) or uuid.uuid4().hex[:12]
    files = migration.files_for(
        tool, spec, revision=rev, down=migration.check_revision(revises), created=created
    )
    if output is None:
        for name, text in files.items():
            if len(files) > 1:
                typer.echo(f"-- file: {name}")
            typer.echo(text)
        return
    for path in migration.write(output, files):
        info(f"wrote {path}")
    if tool is migration.Tool.SQITCH:
        plan_file = output / "sqitch.plan"
        line = migration.sqitch_plan_line(spec, created)
        if plan_file.exists():
            with plan_file.open("a", encoding="utf-8") as fh:
                fh.write(line)
            info(f"added the change to {plan_file}")
        else:
            info(f"add to sqitch.plan: {line.strip()}")


def runbook_cmd(
    plan_file: Annotated[
        Path, typer.Option("--plan", help="`vecpatch plan --format json` output.")
    ],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here.")] = None,
    targets_file: TargetsOpt = None,
) -> None:
    """Write the Markdown SOP of a maintenance: window, steps, verification, rollback, sign-off."""
    from vecpatch.automation import runbook
    from vecpatch.targets import load_targets

    try:
        doc = json.loads(plan_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read the plan {plan_file}: {exc}") from None
    known: dict[str, Target] = {}
    path = targets_file_path(targets_file)
    if path is not None:
        known = {t.name: t for t in load_targets(path, environ=None).targets}  # no connections
    text = runbook.render(doc, known, datetime.now(UTC))
    if output is None:
        typer.echo(text, nl=False)
    else:
        atomic_write(output, text)
        info(f"wrote {output}")


worker_app = typer.Typer(
    help="Run fleet jobs on workers through a PostgreSQL queue (Procrastinate)."
)
QueueDsn = Annotated[
    str,
    typer.Option(
        "--queue-dsn", envvar="VECPATCH_QUEUE_DSN", help="PostgreSQL DSN of the job queue."
    ),
]


@dataclass(frozen=True)
class Queued:
    """Where a command queues its jobs, and for which targets."""

    dsn: str
    fleet: Fleet


@expand(fleet=fleet_options)
def queue_options(queue_dsn: QueueDsn, fleet: Fleet) -> Queued:
    """The queue and the targets every ``enqueue-*`` command takes; the DSN's password is
    registered for redaction before anything can log it. Targets' password references are
    the workers' to resolve, so they are not checked here."""
    redacting_filter().add(*_dsn_secrets(queue_dsn))
    return Queued(queue_dsn, replace(fleet, secrets_here=False))


@worker_app.callback(invoke_without_command=True)
def worker(
    ctx: typer.Context,
    queue_dsn: Annotated[
        str | None,
        typer.Option(
            "--queue-dsn", envvar="VECPATCH_QUEUE_DSN", help="PostgreSQL DSN of the queue."
        ),
    ] = None,
    history: History = None,
    burst: Annotated[bool, typer.Option("--burst", help="Exit once the queue is empty.")] = False,
    concurrency: Annotated[
        int, typer.Option("--concurrency", min=1, max=64, help="Jobs at once.")
    ] = 1,
    name: Annotated[str | None, typer.Option("--name", help="Worker name in the queue.")] = None,
    allow_job_commands: Annotated[
        bool,
        typer.Option(
            "--allow-job-commands",
            help="Run apply jobs that carry hooks, --backup-command or --pg-bin (off: refused).",
        ),
    ] = False,
) -> None:
    """Start a worker: it runs queued scan, stage and apply jobs, recorded in --history.

    Apply jobs that would make this machine run a command or binaries of the job's choice
    (hooks, --backup-command, --pg-bin) are refused unless --allow-job-commands is given:
    whoever can write to the queue should not choose what runs next to production
    credentials.
    """
    if ctx.invoked_subcommand is not None:
        return
    if not queue_dsn:
        raise UsageError("--queue-dsn (or $VECPATCH_QUEUE_DSN) is required")
    redacting_filter().add(*_dsn_secrets(queue_dsn))
    from vecpatch.automation.worker import run_worker

    run_worker(
        queue_dsn,
        history,
        burst=burst,
        concurrency=concurrency,
        name=name,
        allow_commands=allow_job_commands,
    )


@worker_app.command("enqueue-scan")
@expand(job=queue_options)
def enqueue_scan_cmd(
    job: Queued,
    history: History = None,
) -> None:
    """Queue one scan job per target; workers record them as one scan run (printed)."""
    from vecpatch.automation.worker import enqueue_scan

    targets = job.fleet.gather().targets
    run_id = enqueue_scan(job.dsn, targets, history)
    info(f"queued {len(targets)} scan job(s) for run {run_id}")
    typer.echo(run_id)


@worker_app.command("enqueue-apply")
@expand(job=queue_options, settings=apply_settings)
def enqueue_apply_cmd(
    job: Queued,
    settings: ApplyOptions,
    to: Annotated[
        str | None, typer.Option("--to", help="Required: the pgvector version every job applies.")
    ] = None,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Required: workers cannot ask for confirmation.")
    ] = False,
) -> None:
    """Queue one apply job per target; each job is a `vecpatch apply` of that target.

    The options are apply's. Each job is recorded as its own apply run in the worker's
    history (its --history), with evidence under --evidence-dir on the worker. Paths are
    the worker's. --yes is required. Prints the number of jobs queued.
    """
    from vecpatch.automation.worker import enqueue_apply

    if not yes:
        raise UsageError(
            "a worker cannot ask for confirmation: pass --yes to queue applies",
            hint="check what would change first with `vecpatch apply --dry-run`",
        )
    if not to:
        raise UsageError(
            "a queued apply must name its version (--to)",
            hint="each worker would otherwise pick one from its own catalog when the job runs",
        )
    count = enqueue_apply(job.dsn, job.fleet.gather().targets, replace(settings, to=to, yes=yes))
    info(f"queued {count} apply job(s); each is recorded as its own apply run")
    typer.echo(count)


@worker_app.command("enqueue-stage")
@expand(job=queue_options, settings=stage_settings)
def enqueue_stage_cmd(
    job: Queued,
    settings: StageOptions,
    sample_rows: Annotated[
        int, typer.Option("--sample-rows", min=1, help="Rows per vector table in the clone.")
    ] = 100_000,
    output_dir: Annotated[
        Path | None,
        typer.Option("--output-dir", help="Reports go to DIR/<run id>/ on the worker."),
    ] = None,
) -> None:
    """Queue one stage job per target; each is a `vecpatch stage --clone-from` of it.

    The worker clones the target into a sandbox (production's schema and a sample of its
    vector tables, read-only), stages the planned update there, records a stage run in
    its --history, writes report.json/.md/.html under --output-dir (default: its state
    folder's stage/), then destroys the clone. Paths are the worker's. Prints the count.
    """
    from vecpatch.automation.worker import enqueue_stage

    selection = job.fleet.gather()
    count = enqueue_stage(
        job.dsn, selection.targets, settings, sample_rows=sample_rows, output_dir=output_dir
    )
    info(f"queued {count} stage job(s); each is recorded as its own stage run")
    typer.echo(count)


def _dsn_secrets(dsn: str) -> list[str]:
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    try:
        value = conninfo_to_dict(dsn).get("password")
    except psycopg.ProgrammingError:
        return []
    return [str(value)] if value else []


def register(app: typer.Typer) -> None:
    """Attach the automation commands to the main app."""
    app.command()(watch)
    app.command()(rollout)
    app.add_typer(init_app, name="init")
    app.command("migration")(migration_cmd)
    app.command("runbook")(runbook_cmd)
    app.add_typer(worker_app, name="worker")
