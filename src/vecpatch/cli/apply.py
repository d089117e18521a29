"""`vecpatch apply` and `vecpatch rollback`: the commands that write to targets.

Parse, call :mod:`vecpatch.apply`, render. Confirmation is a typed target name on a
TTY, or ``--yes`` for automation; without either (no TTY) the command refuses (exit 2).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from vecpatch.apply.model import ApplyOptions, ApplyResult, BackupKind
from vecpatch.cli.console import err, info, out, redacting_filter
from vecpatch.cli.options import duration
from vecpatch.cli.scan import TargetsArg, TargetsOpt
from vecpatch.cli.selection import EnvOpt, TagOpt, WaveOpt, gather
from vecpatch.errors import UsageError
from vecpatch.plan import Policy

if TYPE_CHECKING:
    from vecpatch.apply.rollback import RollbackResult


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
StatementTimeoutOpt = Annotated[str, typer.Option("--statement-timeout")]
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
        err.print(f"About to update [bold]{target}[/]: {summary}")
        typed = typer.prompt("Type the target's name to go on", default="", err=True)
        return bool(typed == target)


History = Annotated[
    str | None,
    typer.Option("--history", envvar="VECPATCH_HISTORY", help="History store URL (SQLAlchemy)."),
]
Fmt = Annotated[str, typer.Option("--format", "-f", help="table or json.")]


def apply(
    targets: TargetsArg = None,
    targets_file: TargetsOpt = None,
    env: EnvOpt = None,
    tag: TagOpt = None,
    wave: WaveOpt = None,
    to: Annotated[str | None, typer.Option("--to", help="Target pgvector version.")] = None,
    policy: ApplyPolicyOpt = Policy.LATEST,
    backup: BackupOpt = BackupKind.PG_DUMP,
    backup_command: BackupCommandOpt = None,
    backup_dir: BackupDirOpt = None,
    i_have_a_backup: IHaveABackupOpt = False,
    now: NowOpt = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="No typed confirmation.")] = False,
    lock_timeout: LockTimeoutOpt = "2s",
    statement_timeout: StatementTimeoutOpt = "5m",
    retry_budget: RetryBudgetOpt = "30s",
    reconnect_stale: ReconnectStaleOpt = False,
    reconnect_hook: ReconnectHookOpt = None,
    soak: SoakOpt = "120s",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Plan and preflight only.")] = False,
    history: History = None,
    fmt: Fmt = "table",
    evidence_dir: EvidenceDirOpt = None,
    pg_bin: PgBinOpt = None,
    pg_minor_hook: PgMinorHookOpt = None,
    package_hook: PackageHookOpt = None,
    concurrency: ConcurrencyOpt = 4,
    no_stage_gate: NoStageGateOpt = None,
    stage_gate_age: StageGateAgeOpt = "30d",
) -> None:
    """Update pgvector safely: preflight, backup, update in one checked transaction, verify.

    A production target (environment = "production" in the targets file) is updated only
    after a passing `vecpatch stage` of the same update within --stage-gate-age.

    Exit codes: 0 applied or nothing to do; 1 refused or failed, database unchanged;
    2 usage or configuration error; 4 applied but a post-commit check failed.
    """
    from vecpatch.apply.runner import run_apply
    from vecpatch.catalog.store import load_catalog
    from vecpatch.history.store import HistoryStore
    from vecpatch.scan import target_secrets

    if not (yes or dry_run or sys.stdin.isatty()):
        raise UsageError("stdin is not a terminal: pass --yes to apply without typed confirmation")
    opts = build_options(
        policy=policy, to=to, backup=backup, backup_command=backup_command,
        backup_dir=backup_dir, i_have_a_backup=i_have_a_backup, now=now, yes=yes,
        lock_timeout=lock_timeout, statement_timeout=statement_timeout,
        retry_budget=retry_budget, reconnect_stale=reconnect_stale,
        reconnect_hook=reconnect_hook, soak=soak, dry_run=dry_run,
        evidence_dir=evidence_dir, pg_bin=pg_bin, pg_minor_hook=pg_minor_hook,
        package_hook=package_hook, concurrency=concurrency, no_stage_gate=no_stage_gate,
        stage_gate_age=stage_gate_age,
    )  # fmt: skip
    selection = gather(targets, targets_file, env, tag, wave)
    secrets = target_secrets(selection.targets)
    redacting_filter().add(*secrets)
    with HistoryStore.open(history, secrets=secrets) as store:
        result = run_apply(selection.targets, opts, load_catalog(offline=True), store, CliUi())
    render_apply(result, fmt, tuple(secrets))
    raise typer.Exit(int(result.exit_code))


def build_options(
    *,
    lock_timeout: str,
    statement_timeout: str,
    retry_budget: str,
    soak: str,
    stage_gate_age: str = "30d",
    **chosen: Any,
) -> ApplyOptions:
    """ApplyOptions from apply's command-line values (durations as typed); shared with
    ``vecpatch worker enqueue-apply`` so a queued apply parses exactly like a local one."""
    if chosen.get("no_stage_gate") is not None and not str(chosen["no_stage_gate"]).strip():
        raise UsageError("--no-stage-gate needs a reason (it goes into the evidence)")
    if chosen.get("backup") is BackupKind.NONE and not chosen.get("i_have_a_backup"):
        raise UsageError("--backup none needs --i-have-a-backup")
    return ApplyOptions(
        lock_timeout=positive(duration(lock_timeout), "--lock-timeout"),
        statement_timeout=positive(duration(statement_timeout), "--statement-timeout"),
        retry_budget=duration(retry_budget),
        soak=duration(soak),
        stage_gate_age=positive(duration(stage_gate_age), "--stage-gate-age"),
        **chosen,
    )


def render_apply(result: ApplyResult, fmt: str, secrets: tuple[str, ...]) -> None:
    from vecpatch.redact import redact_text

    if fmt == "json":
        doc = {
            "run_id": result.run_id,
            "outcome": result.outcome.value,
            "exit_code": int(result.exit_code),
            "evidence_dir": str(result.evidence_dir),
            "notes": list(result.notes),
            "databases": [d.to_dict() for d in result.databases],
        }
        typer.echo(redact_text(json.dumps(doc, indent=2, default=str), secrets))
        return
    table = Table("target", "database", "from", "to", "outcome", "why / next", box=None)
    for d in result.databases:
        why = [*d.reasons, *d.warnings, *(f"next: {s}" for s in d.next_steps)]
        table.add_row(
            Text(d.target), Text(d.database), d.installed or "-", d.to or "-", d.outcome.value,
            Text(redact_text("\n".join(why), secrets)),
        )  # fmt: skip
    out.print(table)
    for note in result.notes:
        err.print(Text.assemble(("note: ", "yellow"), redact_text(note, secrets)))
    info(f"run {result.run_id}: {result.outcome.value}; evidence in {result.evidence_dir}")


def rollback(
    run_id: Annotated[str, typer.Argument(help="The apply run whose backup to restore.")],
    targets: TargetsArg = None,
    targets_file: TargetsOpt = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="No typed confirmation.")] = False,
    history: History = None,
    pg_bin: Annotated[Path | None, typer.Option("--pg-bin", help="pg_restore's dir.")] = None,
    fmt: Fmt = "table",
) -> None:
    """Restore the pg_dump backup an apply took, then verify extversion and row counts.

    The targets (arguments or --targets) give the connection; the run gives the backup.
    """
    from vecpatch.apply.rollback import RollbackOptions, run_rollback
    from vecpatch.history.store import HistoryStore
    from vecpatch.scan import target_secrets

    if not (yes or sys.stdin.isatty()):
        raise UsageError("stdin is not a terminal: pass --yes to restore without confirmation")
    selection = gather(targets, targets_file)
    secrets = target_secrets(selection.targets)
    redacting_filter().add(*secrets)
    with HistoryStore.open(history, secrets=secrets) as store:
        result = run_rollback(
            run_id, selection.targets, RollbackOptions(yes=yes, pg_bin=pg_bin), store, CliUi()
        )
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
