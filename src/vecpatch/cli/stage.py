"""`vecpatch stage`: rehearse the planned update on staging and judge it with the test plan.

Parse, build the staging target, call :func:`vecpatch.usecases.stage.run_stage`, render. Exit
codes: 0 every critical case passed, or ``nothing-to-stage`` (the target is installed);
1 a critical case failed or did not run (``incomplete``); 2 usage or configuration.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from rich.text import Text

from vecpatch.atomic import atomic_write
from vecpatch.cli.console import info, out, redacting_filter
from vecpatch.cli.options import expand
from vecpatch.cli.plan import PolicyChoice, PolicyOpt, ToOpt, plan_policy
from vecpatch.cli.scan import TargetsOpt
from vecpatch.cli.selection import gather
from vecpatch.errors import UsageError
from vecpatch.stage.model import Outcome, StageReport, Verdict
from vecpatch.stage.render import StageFormat, render

if TYPE_CHECKING:
    from vecpatch.stage.runner import StageOptions
    from vecpatch.stage.staging import Staging

_STYLE = {Verdict.PASS: "green", Verdict.FAIL: "bold red", Verdict.SKIP: "yellow",
          Verdict.ERROR: "red", Verdict.NOT_APPLICABLE: "dim"}  # fmt: skip
_OUTCOME = {Outcome.PASS: "green", Outcome.FAIL: "bold red", Outcome.INCOMPLETE: "bold yellow",
            Outcome.NOTHING_TO_STAGE: "dim"}  # fmt: skip


def _staging(
    staging: str | None, clone: str | None, sandbox: str | None, targets_file: Path | None,
    database: str | None, hook: str | None, pg_bin: Path | None, sample_rows: int, run_id: str,
) -> Staging:  # fmt: skip
    from vecpatch.sandbox import Sandbox
    from vecpatch.stage.staging import from_dsn, from_sandbox
    from vecpatch.usecases.stage import clone_staging

    given = [x for x in (staging, clone, sandbox) if x]
    if len(given) != 1:
        raise UsageError("give exactly one of --staging DSN, --clone-from TARGET, --sandbox NAME")
    if staging:
        return from_dsn(staging, run_id, hook, pg_bin)
    if sandbox:
        return from_sandbox(Sandbox.load(sandbox), run_id, database)
    target = gather([str(clone)], targets_file).targets[0]
    redacting_filter().add(*(v for v in [target.conninfo.get("password")] if v))
    return clone_staging(target, run_id, sample_rows, info)


def stage_settings(
    to: ToOpt = None,
    policy: PolicyOpt = PolicyChoice.latest,
    plan_file: Annotated[
        Path | None, typer.Option("--plan", help="Your test plan (YAML; queued: on the worker).")
    ] = None,
    queries: Annotated[
        Path | None, typer.Option("--queries", help="Your queries (SQL; queued: on the worker).")
    ] = None,
    post_update_sql: Annotated[
        Path | None, typer.Option("--post-update-sql", help="SQL your deploy runs after it.")
    ] = None,
    perf_queries: Annotated[
        int | None, typer.Option("--perf-queries", min=1, help="Query vectors per index (50).")
    ] = None,
    no_drill: Annotated[
        bool, typer.Option("--no-rollback-drill", help="Skip the restore drill.")
    ] = False,
) -> StageOptions:
    """stage's settings; ``vecpatch stage`` and ``vecpatch worker enqueue-stage`` both take
    them (see :func:`~vecpatch.cli.options.expand`), so a queued stage reads them alike."""
    from vecpatch.stage.runner import StageOptions

    return StageOptions(
        policy=plan_policy(to, policy), plan_file=plan_file, queries_file=queries,
        post_update_sql=post_update_sql, perf_queries=perf_queries, rollback_drill=not no_drill,
    )  # fmt: skip


@expand(settings=stage_settings)
def stage(
    settings: StageOptions,
    staging: Annotated[str | None, typer.Option("--staging", help="Staging DSN.")] = None,
    clone_from: Annotated[
        str | None, typer.Option("--clone-from", help="Production DSN or target to clone.")
    ] = None,
    sandbox: Annotated[str | None, typer.Option("--sandbox", help="A vecpatch sandbox.")] = None,
    targets_file: TargetsOpt = None,
    database: Annotated[str | None, typer.Option("--database", help="Sandbox database.")] = None,
    package_hook: Annotated[
        str | None, typer.Option("--package-hook", help="{host} {pg_major} {version}.")
    ] = None,
    pg_bin: Annotated[Path | None, typer.Option("--pg-bin", help="pg_dump/pg_restore dir.")] = None,
    sample_rows: Annotated[
        int, typer.Option("--sample-rows", min=1, help="Rows per vector table in the clone.")
    ] = 100_000,
    keep_clone: Annotated[bool, typer.Option("--keep-clone", help="Keep the clone.")] = False,
    history: Annotated[
        str | None, typer.Option("--history", envvar="VECPATCH_HISTORY", help="History store.")
    ] = None,
    fmt: Annotated[
        StageFormat, typer.Option("--format", "-f", help="Output format.")
    ] = StageFormat.TABLE,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here.")] = None,
) -> None:
    """Stage the planned update (baseline, update, after, compare, rollback drill).

    Exit codes: 0 pass (every critical case ran and passed) or nothing-to-stage (the
    target is already installed); 1 fail, or incomplete (a critical case did not run);
    2 usage error.
    """
    from vecpatch.usecases.stage import run_stage

    run_id = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    target = _staging(staging, clone_from, sandbox, targets_file, database, package_hook,
                      pg_bin, sample_rows, run_id)  # fmt: skip
    redacting_filter().add(*target.endpoint.secrets)
    report = run_stage(target, settings, history, info, keep_clone=keep_clone)
    _emit(report, fmt, output)
    raise typer.Exit(int(report.exit_code))


def _emit(report: StageReport, fmt: StageFormat, output: Path | None) -> None:
    if output is not None:
        atomic_write(output, render(report, fmt))
        info(f"report written to {output}")
    elif fmt is not StageFormat.TABLE:
        typer.echo(render(report, fmt), nl=False)
    if fmt is StageFormat.TABLE or output is not None:
        render_table(report)


def render_table(report: StageReport) -> None:
    """The console summary: every case, then the verdict line."""
    table = Table(box=None, header_style="bold")
    widest = max((len(c.id) for c in report.cases), default=4)
    table.add_column("case", no_wrap=True, min_width=min(widest, 40), overflow="fold")
    table.add_column("category", overflow="fold")
    table.add_column("crit")
    table.add_column("verdict", no_wrap=True)
    table.add_column("why", overflow="fold", ratio=1)
    for c in report.cases:
        style = _STYLE[c.verdict]
        table.add_row(
            c.id,
            c.category.value,
            "yes" if c.critical else "",
            Text(c.verdict.value, style=style),
            c.why,
        )
    out.print(table)
    if report.drill:
        drill = report.drill
        restore = drill.get("restore_seconds")
        out.print(f"rollback drill: {drill.get('outcome')}, restore {restore} s")
    for warning in report.warnings:
        out.print(Text(f"warning: {warning}", style="yellow"))
    failed = ", ".join(c.id for c in report.critical_failures)
    not_run = ", ".join(c.id for c in report.not_run)
    verdict = Text(report.verdict.value.upper(), style=_OUTCOME[report.verdict])
    out.print(Text.assemble("stage ", verdict, f": pgvector {report.installed} -> {report.target}, "
                            f"coverage {report.coverage:.0%}, {report.duration:.1f} s"
                            + (f"; failed critical: {failed}" if failed else "")
                            + (f"; critical not run: {not_run}" if not_run else "")))  # fmt: skip


def register(app: typer.Typer) -> None:
    """Attach the stage command to the main app."""
    app.command()(stage)
