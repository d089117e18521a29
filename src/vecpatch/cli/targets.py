"""`vecpatch targets`: check, explain and list the servers vecpatch looks after."""

from __future__ import annotations

import json
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from vecpatch.cli.console import err, fail, info, out
from vecpatch.cli.selection import EnvOpt, TagOpt, WaveOpt, gather
from vecpatch.errors import UsageError
from vecpatch.exitcodes import ExitCode

if TYPE_CHECKING:
    from vecpatch.targets import Problem, Target

app = typer.Typer(
    help="Check, explain and list targets (servers and their databases).",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class ListFormat(StrEnum):
    """Output formats of ``targets list``."""

    table = "table"
    json = "json"


def render_problems(problems: Sequence[Problem]) -> None:
    """Every problem on stderr, errors first, one per line with its location."""
    for problem in sorted(problems, key=lambda p: p.severity != "error"):
        style = "bold red" if problem.severity == "error" else "yellow"
        err.print(f"[{style}]{problem.severity}:[/] {escape(str(problem))}", highlight=False)


@app.command()
def validate(
    file: Annotated[Path, typer.Argument(help="Targets file (.toml, .yaml or .yml).")],
) -> None:
    """Check a targets file and report every problem at once (exit 2 on errors).

    Password references (env:NAME, file:PATH) are resolved too, without printing them.
    """
    from vecpatch.targets import check_targets

    loaded, problems = check_targets(file)
    render_problems(problems)
    if loaded is None:
        errors = sum(p.severity == "error" for p in problems)
        err.print(f"{file}: {errors} error(s)")
        raise typer.Exit(int(ExitCode.USAGE))
    info(f"{file}: OK, {len(loaded.targets)} target(s), {len(problems)} warning(s)")


@app.command()
def sample() -> None:
    """Print a commented example targets file (TOML)."""
    from vecpatch.targets import SAMPLE_TOML

    typer.echo(SAMPLE_TOML, nl=False)


def _describe(target: Target) -> dict[str, object]:
    """A target as printable data, with every secret masked."""
    databases = target.databases
    return {
        "name": target.name,
        "environment": target.environment,
        "wave": target.wave,
        "tags": list(target.tags),
        "dsn": target.display_dsn,
        "databases": databases if isinstance(databases, str | None) else list(databases),
        "password": target.password.describe() if target.password else "libpq (.pgpass/PG*)",
        "window": target.window,
        "timezone": target.timezone,
        "stakeholders": [url.split("://", 1)[0] + "://***" for url in target.stakeholders],
    }


def _table(rows: list[dict[str, object]]) -> Table:
    table = Table()
    for column in ("name", "env", "wave", "tags", "dsn", "databases", "password"):
        table.add_column(column, overflow="fold")
    for row in rows:
        dbs = row["databases"]
        cells = (
            str(row["name"]),
            str(row["environment"] or "-"),
            "-" if row["wave"] is None else str(row["wave"]),
            ", ".join(row["tags"]) if isinstance(row["tags"], list) else "",
            str(row["dsn"]),
            "(DSN's own)" if dbs is None else ", ".join(dbs) if isinstance(dbs, list) else str(dbs),
            str(row["password"]),
        )
        table.add_row(*map(Text, cells))  # user text, never markup
    return table


@app.command("list")
def list_(
    args: Annotated[
        list[str] | None, typer.Argument(help="DSNs/URIs or pg_service.conf names.")
    ] = None,
    targets_file: Annotated[
        Path | None,
        typer.Option("--targets", "-t", help="Targets file; default $VECPATCH_TARGETS."),
    ] = None,
    env: EnvOpt = None,
    tag: TagOpt = None,
    wave: WaveOpt = None,
    fmt: Annotated[ListFormat, typer.Option("--format", help="Output format.")] = ListFormat.table,
) -> None:
    """Show resolved targets (after defaults) with secrets redacted."""
    from vecpatch.targets import TargetsError

    try:
        chosen = gather(args, targets_file, env=env, tag=tag, wave=wave).targets
    except TargetsError as exc:
        render_problems(exc.problems)
        raise typer.Exit(int(ExitCode.USAGE)) from None
    except UsageError as exc:
        fail(exc.message, exc.hint)
        raise typer.Exit(int(ExitCode.USAGE)) from None
    rows = [_describe(t) for t in chosen]
    if fmt is ListFormat.json:
        typer.echo(json.dumps(rows, indent=2))
    else:
        out.print(_table(rows))
