"""`vecpatch scan`: inventory and assessment of every database of every target."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from vecpatch.cli.console import err, info, out, verbosity
from vecpatch.cli.selection import EnvOpt, TagOpt, WaveOpt, gather
from vecpatch.exitcodes import ExitCode
from vecpatch.report.output import OutputFormat

if TYPE_CHECKING:
    from vecpatch.catalog.model import Catalog
    from vecpatch.probe.facts import TargetFacts
    from vecpatch.report.model import ScanReport
    from vecpatch.scan import ScanOptions
    from vecpatch.targets import Target


class FailOn(StrEnum):
    """Thresholds for ``--fail-on``."""

    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"


TargetsArg = Annotated[
    list[str] | None,
    typer.Argument(help="libpq URIs/DSNs or pg_service.conf names.", show_default=False),
]
TargetsOpt = Annotated[
    Path | None,
    typer.Option("--targets", "-t", help="Targets file (TOML/YAML); default $VECPATCH_TARGETS."),
]


def scan(
    targets: TargetsArg = None,
    targets_file: TargetsOpt = None,
    env: EnvOpt = None,
    tag: TagOpt = None,
    wave: WaveOpt = None,
    fmt: Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")] = (
        OutputFormat.TABLE
    ),
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the report here (atomically).")
    ] = None,
    fail_on: Annotated[
        FailOn, typer.Option("--fail-on", help="Exit 1 on findings at or above this severity.")
    ] = FailOn.high,
    fixable_only: Annotated[
        bool, typer.Option("--fixable-only", help="Only findings with a fix count for --fail-on.")
    ] = False,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit 3 when a target or database was not scanned.")
    ] = False,
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-j", min=1, max=1024, help="Connections at once.")
    ] = 32,
    history: Annotated[
        str | None,
        typer.Option(
            "--history", envvar="VECPATCH_HISTORY", help="History store URL (SQLAlchemy)."
        ),
    ] = None,
    no_history: Annotated[
        bool, typer.Option("--no-history", help="Do not record this scan.")
    ] = False,
    ignore_file: Annotated[
        Path | None,
        typer.Option(
            "--ignore-file",
            envvar="VECPATCH_IGNORE_FILE",
            help="Risk acceptances (TOML/YAML: id, target pattern, reason, expires).",
        ),
    ] = None,
) -> None:
    """Scan targets: what is installed, on disk, vulnerable, outdated, or waiting for ALTER.

    Exit codes: 0 nothing at/above --fail-on; 1 findings at/above it; 2 usage or
    configuration error; 3 targets not scanned (with --strict).
    """
    from vecpatch.catalog.ignores import load_ignores
    from vecpatch.catalog.store import load_catalog
    from vecpatch.scan import ScanOptions, assess, ignore_muter, target_secrets

    selection = gather(targets, targets_file, env, tag, wave)
    catalog = load_catalog(offline=True)
    now = datetime.now(UTC)
    facts = _probe_with_progress(selection.targets, ScanOptions(concurrency=concurrency))
    entries = load_ignores(ignore_file) if ignore_file is not None else []
    mute, reopened = ignore_muter(entries, now)
    report = assess(facts, catalog, now, ScanOptions(concurrency=concurrency), mute)
    report = replace(report, warnings=(*_catalog_warnings(catalog, now), *reopened))
    if not no_history:
        secrets = target_secrets(selection.targets)
        report = _record(report, facts, catalog, history, secrets)
    _emit(report, fmt, output, fail_on.value, selection.file.path if selection.file else None)
    raise typer.Exit(int(_exit_code(report, fail_on.value, fixable_only, strict)))


def _catalog_warnings(catalog: Catalog, now: datetime) -> list[str]:
    from vecpatch.catalog.staleness import staleness_warning

    warning = staleness_warning(catalog, now)
    return [warning] if warning else []


def _probe_with_progress(targets: list[Target], options: ScanOptions) -> list[TargetFacts]:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from vecpatch.scan import probe

    show = not verbosity.quiet and err.is_terminal and len(targets) > 1
    with Progress(
        TextColumn("scanning"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not show,
    ) as bar:
        task = bar.add_task("scan", total=len(targets))
        return probe(targets, options, on_done=lambda _facts: bar.advance(task))


def _record(
    report: ScanReport,
    facts: list[TargetFacts],
    catalog: Catalog,
    url: str | None,
    secrets: list[str],
) -> ScanReport:
    from vecpatch.history.store import HistoryStore
    from vecpatch.scan_record import record_scan

    with HistoryStore.open(url) as store:
        recorded = record_scan(store, report, facts, catalog, secrets)
    info(f"recorded as run {recorded.run_id} in {store.url}")
    return recorded


def _emit(
    report: ScanReport, fmt: OutputFormat, output: Path | None, fail_on: str, source: Path | None
) -> None:
    from vecpatch.atomic import atomic_write
    from vecpatch.cli.scan_table import render_table
    from vecpatch.report.output import render

    for warning in report.warnings:
        err.print(f"[yellow]warning:[/] {warning}")
    if fmt is OutputFormat.TABLE and output is None:
        render_table(out, report)
        return
    artifact = source.name if source is not None else "vecpatch-targets.toml"
    text = render(report, fmt, fail_on=fail_on, artifact=artifact)
    if output is None:
        typer.echo(text, nl=False)
    else:
        atomic_write(output, text)
        info(f"wrote {fmt.value} report to {output}")


def _exit_code(report: ScanReport, fail_on: str, fixable_only: bool, strict: bool) -> ExitCode:
    from vecpatch.report.model import failing

    if strict and report.unscanned():
        return ExitCode.UNSCANNED
    if failing(report, fail_on, fixable_only):
        return ExitCode.FINDINGS
    return ExitCode.OK


def register(app: typer.Typer) -> None:
    """Attach the scan command to the main app."""
    app.command()(scan)
