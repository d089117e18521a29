"""`vecpatch apply` and `vecpatch rollback`: the commands that write to targets.

Parse, call :mod:`vecpatch.apply`, render. Confirmation is a typed target name on a
TTY, or ``--yes`` for automation; without either (no TTY) the command refuses (exit 2).
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from rich.text import Text

from vecpatch.apply.model import ApplyOptions, ApplyResult, BackupKind
from vecpatch.cli.console import err, info, out, redacting_filter, verbosity
from vecpatch.cli.options import Fleet, duration, expand, fleet_options
from vecpatch.cli.scan import TargetsArg, TargetsOpt
from vecpatch.cli.selection import gather
from vecpatch.errors import UsageError
from vecpatch.plan import Policy

if TYPE_CHECKING:
    from vecpatch.usecases.rollback import RollbackResult


def positive(value: float, option: str) -> float:
    """A timeout of 0 means "no limit" to PostgreSQL: refuse it where a limit is the point."""
    if value < 0.001:
        raise typer.BadParameter(
            "must be at least 1ms (0 would disable the limit)", param_hint=option
        )
    return value


# Options shared by `vecpatch apply` and `vecpatch worker enqueue-apply` (paths and hooks
# are resolved where the apply runs).
ApplyPolicyOpt = Annotated[Policy, typer.Option("--policy", help="How to pick the version.")]
BackupOpt = Annotated[BackupKind, typer.Option("--backup", help="Backup before update.")]
BackupCommandOpt = Annotated[
    str | None, typer.Option("--backup-command", help="Hook: {host} {port} {database} {dest}.")
]
BackupDirOpt = Annotated[Path | None, typer.Option("--backup-dir", help="Backups go here.")]
IHaveABackupOpt = Annotated[bool, typer.Option("--i-have-a-backup", help="Allow --backup none.")]
NowOpt = Annotated[bool, typer.Option("--now", help="Ignore maintenance windows.")]
LockTimeoutOpt = Annotated[str, typer.Option("--lock-timeout", help="Per attempt.")]
StatementTimeoutOpt = Annotated[
    str, typer.Option("--statement-timeout", help="Longest one statement may run.")
]
RetryBudgetOpt = Annotated[str, typer.Option("--retry-budget", help="Lock retries.")]
ReconnectStaleOpt = Annotated[
    bool, typer.Option("--reconnect-stale", help="Terminate sessions older than the update.")
]
ReconnectHookOpt = Annotated[
    str | None, typer.Option("--reconnect-hook", help="Pool reconnect command instead.")
]
SoakOpt = Annotated[str, typer.Option("--soak", help="Watch after COMMIT; 0 skips.")]
EvidenceDirOpt = Annotated[Path | None, typer.Option("--evidence-dir", help="Evidence goes here.")]
PgBinOpt = Annotated[
    Path | None,
    typer.Option(
        "--pg-bin",
        help="pg_dump/pg_restore dir (default: PATH, distro folders, build cache, download).",
    ),
]
PgMinorHookOpt = Annotated[
    str | None, typer.Option("--pg-minor-hook", help="{host} {pg_major} {version}.")
]
PackageHookOpt = Annotated[
    str | None, typer.Option("--package-hook", help="{host} {pg_major} {version}.")
]
NoStageGateOpt = Annotated[
    str | None,
    typer.Option(
        "--no-stage-gate",
        metavar="REASON",
        help="Update production without a passing stage; the reason goes into the evidence.",
    ),
]
StageGateAgeOpt = Annotated[
    str,
    typer.Option("--stage-gate-age", help="How recent production's passing stage must be."),
]
ConcurrencyOpt = Annotated[
    int, typer.Option("--concurrency", "-j", min=1, max=256, help="Databases at once.")
]


class CliUi:
    """Progress on stderr; typed confirmation of the target's name on a TTY."""

    def info(self, message: str) -> None:
        info(message)

    def confirm(self, target: str, summary: str) -> bool:
        err.print(f"About to update {target}: {summary}", markup=False, highlight=False)
        try:
            typed = typer.prompt(
                f"Type {target} to go on (anything else stops)",
                default="",
                show_default=False,
                err=True,
            )
        except typer.Abort:  # Ctrl-C or end of input at the prompt: not confirmed
            return False
        return bool(typed == target)


class CliProgress:
    """:class:`~vecpatch.apply.progress.StepProgress` on stderr: one line per step as it
    ends, and the soak's countdown on one line rewritten in place (a terminal only)."""

    def started(self, where: str, step: str) -> None:
        info(f"{where}: {step}…")

    def finished(self, where: str, step: str, outcome: str, seconds: float) -> None:
        info(f"{where}: {step} {outcome} ({seconds:.1f} s)")

    def soaking(self, where: str, left: float, total: float) -> None:
        if err.is_terminal and not verbosity.quiet:
            end = "\n" if left <= 0 else "\r"
            err.print(f"{where}: soak {left:4.0f} s of {total:.0f} s left", end=end,
                      markup=False, highlight=False)  # fmt: skip


History = Annotated[
    str | None,
    typer.Option("--history", envvar="VECPATCH_HISTORY", help="History store URL (SQLAlchemy)."),
]
Fmt = Annotated[str, typer.Option("--format", "-f", help="table or json.")]


def apply_settings(
    policy: ApplyPolicyOpt = Policy.LATEST,
    backup: BackupOpt = BackupKind.PG_DUMP,
    backup_command: BackupCommandOpt = None,
    backup_dir: BackupDirOpt = None,
    i_have_a_backup: IHaveABackupOpt = False,
    now: NowOpt = False,
    lock_timeout: LockTimeoutOpt = "2s",
    statement_timeout: StatementTimeoutOpt = "5m",
    retry_budget: RetryBudgetOpt = "30s",
    reconnect_stale: ReconnectStaleOpt = False,
    reconnect_hook: ReconnectHookOpt = None,
    soak: SoakOpt = "120s",
    evidence_dir: EvidenceDirOpt = None,
    pg_bin: PgBinOpt = None,
    pg_minor_hook: PgMinorHookOpt = None,
    package_hook: PackageHookOpt = None,
    concurrency: ConcurrencyOpt = 4,
    no_stage_gate: NoStageGateOpt = None,
    stage_gate_age: StageGateAgeOpt = "30d",
) -> ApplyOptions:
    """apply's settings (durations as typed); ``vecpatch apply`` and ``vecpatch worker
    enqueue-apply`` both take them (see :func:`~vecpatch.cli.options.expand`), so a queued
    apply parses exactly like a local one."""
    if no_stage_gate is not None and not no_stage_gate.strip():
        raise UsageError("--no-stage-gate needs a reason (it goes into the evidence)")
    if backup is BackupKind.NONE and not i_have_a_backup:
        raise UsageError("--backup none needs --i-have-a-backup")
    return ApplyOptions(
        policy=policy, backup=backup, backup_command=backup_command, backup_dir=backup_dir,
        i_have_a_backup=i_have_a_backup, now=now,
        lock_timeout=positive(duration(lock_timeout), "--lock-timeout"),
        statement_timeout=positive(duration(statement_timeout), "--statement-timeout"),
        retry_budget=duration(retry_budget), reconnect_stale=reconnect_stale,
        reconnect_hook=reconnect_hook, soak=duration(soak), evidence_dir=evidence_dir,
        pg_bin=pg_bin, pg_minor_hook=pg_minor_hook, package_hook=package_hook,
        concurrency=concurrency, no_stage_gate=no_stage_gate,
        stage_gate_age=positive(duration(stage_gate_age), "--stage-gate-age"),
    )  # fmt: skip


@expand(fleet=fleet_options, settings=apply_settings)
def apply(
    fleet: Fleet,
    settings: ApplyOptions,
    to: Annotated[str | None, typer.Option("--to", help="Target pgvector version.")] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="No typed confirmation.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Plan and preflight only.")] = False,
    history: History = None,
    fmt: Fmt = "table",
    recycle_stale: Annotated[
        str | None,
        typer.Option(
            "--recycle-stale",
            metavar="RUN_ID",
            help="Apply nothing: end the sessions that still run the library a finished "
            "run replaced (or run --reconnect-hook).",
        ),
    ] = None,
) -> None:
    """Update pgvector safely: preflight, backup, update in one checked transaction, verify.

    A production target (environment = "production" in the targets file) is updated only
    after a passing `vecpatch stage` of the same update within --stage-gate-age.

    Exit codes: 0 applied or nothing to do; 1 refused or failed, database unchanged;
    2 usage or configuration error; 4 applied but a post-commit step failed or was cut
    short (also: interrupted after a COMMIT); 130 interrupted (SIGINT/SIGTERM) before any
    COMMIT, every database unchanged. Ctrl-C rolls back what is not committed and finishes
    the records; a second Ctrl-C is acted on once every database's state is known.
    """
    from vecpatch.apply.interrupt import Interrupt, install
    from vecpatch.catalog.store import load_catalog
    from vecpatch.history.store import HistoryStore
    from vecpatch.scan import target_secrets
    from vecpatch.usecases.apply import run_apply

    if recycle_stale is not None:
        _recycle(recycle_stale, fleet, history, fmt, settings.reconnect_hook)
    if not (yes or dry_run or sys.stdin.isatty()):
        raise UsageError("stdin is not a terminal: pass --yes to apply without typed confirmation")
    opts = replace(settings, to=to, yes=yes, dry_run=dry_run)
    selection = fleet.gather()
    secrets = target_secrets(selection.targets)
    redacting_filter().add(*secrets)
    stop = Interrupt(os.environ)
    restore = install(stop, lambda message: err.print(Text(message, style="yellow")))
    try:
        with HistoryStore.open(history, secrets=secrets) as store:
            catalog = load_catalog(offline=True)
            result = run_apply(selection.targets, opts, catalog, store, CliUi(), interrupt=stop)
    finally:
        restore()
    render_apply(result, fmt, tuple(secrets))
    raise typer.Exit(int(result.exit_code))


def _recycle(run_id: str, fleet: Fleet, history: str | None, fmt: str, hook: str | None) -> None:
    """``apply --recycle-stale RUN_ID``: end the stale sessions of a finished run, only."""
    from vecpatch.history.store import HistoryStore
    from vecpatch.redact import redact_text
    from vecpatch.scan import target_secrets
    from vecpatch.usecases.apply import recycle_stale

    selection = fleet.gather()
    secrets = target_secrets(selection.targets)
    redacting_filter().add(*secrets)
    with HistoryStore.open(history, secrets=secrets) as store:
        result = recycle_stale(run_id, selection.targets, store, hook)
    if fmt == "json":
        typer.echo(redact_text(json.dumps(result.to_dict(), indent=2, default=str), secrets))
    else:
        for d in result.databases:
            line = f"{d['target']}/{d['database']}: {d.get('detail')}"
            out.print(Text(redact_text(line, tuple(secrets))))
        info(f"recycle run {result.run_id} of apply {run_id}: {result.to_dict()['outcome']}")
    raise typer.Exit(int(result.exit_code))


def render_apply(result: ApplyResult, fmt: str, secrets: tuple[str, ...]) -> None:
    from vecpatch.redact import redact_text

    if int(result.exit_code) not in (0, 1):  # the database changed, or may have: say how
        err.print(Text(f"run {result.run_id}: {result.outcome.value}"))
        for d in result.databases:
            err.print(Text(redact_text(f"{d.label}: database {d.state}", secrets)))
    if fmt == "json":
        doc = {
            "run_id": result.run_id,
            "outcome": result.outcome.value,
            "exit_code": int(result.exit_code),
            "evidence_dir": str(result.evidence_dir) if result.evidence_dir else None,
            "notes": list(result.notes),
            "databases": [d.to_dict() for d in result.databases],
        }
        typer.echo(redact_text(json.dumps(doc, indent=2, default=str), secrets))
        return
    table = Table(box=None)
    for name in ("target", "database"):
        table.add_column(name, no_wrap=True, overflow="fold")
    for name in ("from", "to", "outcome"):
        table.add_column(name, no_wrap=True)
    table.add_column("why", overflow="fold", ratio=1)
    steps: list[tuple[str, str]] = []
    for d in result.databases:
        why = [*d.reasons, *d.warnings]
        if d.next_steps:
            why.append(f"next: see below ({len(d.next_steps)})")
        table.add_row(
            Text(d.target), Text(d.database), d.installed or "-", d.to or "-", d.outcome.value,
            Text(redact_text("\n".join(why), secrets)),
        )  # fmt: skip
        steps += [(f"{d.target}/{d.database}", redact_text(s, secrets)) for s in d.next_steps]
    out.print(table)
    # commands below the table, whole: a terminal wraps them, a table column would cut them
    for where, step in steps:
        out.print(f"next for {where}: {step}", markup=False, highlight=False, soft_wrap=True)
    for note in result.notes:
        err.print(Text.assemble(("note: ", "yellow"), redact_text(note, secrets)))
    evidence = result.evidence_dir or "not written (see the notes)"
    info(f"run {result.run_id}: {result.outcome.value}; evidence in {evidence}")


def rollback(
    run_id: Annotated[str, typer.Argument(help="The apply run whose backup to restore.")],
    targets: TargetsArg = None,
    targets_file: TargetsOpt = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="No typed confirmation.")] = False,
    history: History = None,
    pg_bin: Annotated[Path | None, typer.Option("--pg-bin", help="pg_restore's dir.")] = None,
    fmt: Fmt = "table",
    discard_newer_writes: Annotated[
        bool,
        typer.Option(
            "--discard-newer-writes", help="Restore even over rows written since the backup."
        ),
    ] = False,
    lock_timeout: Annotated[
        str, typer.Option("--lock-timeout", help="pg_restore's lock_timeout.")
    ] = "5s",
) -> None:
    """Check, then restore the pg_dump backup an apply took and verify it.

    Refused (nothing changed) when the old pgvector package is not on disk or tables were
    written since the backup (unless --discard-newer-writes). The targets (arguments or
    --targets) give the connection; the run gives the backup. Exit codes: 0 restored and
    verified; 1 refused or failed, nothing changed; 2 usage error; 5 data restored but
    not verified (or only some databases restored).
    """
    from vecpatch.history.store import HistoryStore
    from vecpatch.scan import target_secrets
    from vecpatch.usecases.rollback import RollbackOptions, run_rollback

    if not (yes or sys.stdin.isatty()):
        raise UsageError("stdin is not a terminal: pass --yes to restore without confirmation")
    selection = gather(targets, targets_file)
    secrets = target_secrets(selection.targets)
    redacting_filter().add(*secrets)
    with HistoryStore.open(history, secrets=secrets) as store:
        opts = RollbackOptions(
            yes=yes,
            pg_bin=pg_bin,
            discard_newer_writes=discard_newer_writes,
            lock_timeout=positive(duration(lock_timeout), "--lock-timeout"),
        )
        result = run_rollback(run_id, selection.targets, opts, store, CliUi())
    _render_rollback(result, fmt, tuple(secrets))
    raise typer.Exit(int(result.exit_code))


def _render_rollback(result: RollbackResult, fmt: str, secrets: tuple[str, ...]) -> None:
    from vecpatch.redact import redact_text

    if fmt == "json":
        typer.echo(redact_text(json.dumps(result.to_dict(), indent=2, default=str), secrets))
        return
    for db in result.databases:
        line = f"{db['target']}/{db['database']}: {db['outcome']}"
        out.print(redact_text(line + "".join(f"\n  {r}" for r in db["notes"]), secrets))
    info(f"rollback run {result.run_id} of apply {result.apply_run_id}: {result.outcome}")


def register(app: typer.Typer) -> None:
    """Attach ``apply`` and ``rollback`` to the main app."""
    app.command()(apply)
    app.command()(rollback)
