"""The ``vecpatch`` entry point: global options and the command groups."""

from typing import Annotated

import typer

import vecpatch.cli.automation as automation_cli
from vecpatch import __version__
from vecpatch.cli import apply, catalog, demo, metrics, plan, sandbox, scan, stage, targets
from vecpatch.cli.console import configure_logging, fail
from vecpatch.errors import VecpatchError

app = typer.Typer(
    name="vecpatch",
    help="Keep pgvector (and PostgreSQL minors) patched in every database: "
    "monitor, scan, plan, stage, apply, measure.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"vecpatch {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
    verbose: Annotated[
        int, typer.Option("-v", "--verbose", count=True, help="More detail (repeatable).")
    ] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only errors and data.")] = False,
) -> None:
    """Keep pgvector (and PostgreSQL minors) patched in every database."""
    configure_logging(-1 if quiet else verbose)


# The order of --help: the main job first, then the loop scan -> plan -> stage -> apply,
# automation, measurement, and the supporting groups.
demo.register(app)
scan.register(app)
plan.register(app)
stage.register(app)
apply.register(app)
automation_cli.register(app)
metrics.register(app)
app.add_typer(catalog.app, name="catalog")
app.add_typer(targets.app, name="targets")
app.add_typer(sandbox.app, name="sandbox")


def _plain_help(group: typer.Typer) -> None:
    """Help in the ecosystem's plain form, for every command group: flags shown as flags
    (``-y, --yes``, never ``--yes <bool>``), and brackets in help text printed as written
    (Rich markup would swallow ``[settings.metrics]``)."""
    group.rich_markup_mode = None
    for info in group.registered_groups:
        if info.typer_instance is not None:
            _plain_help(info.typer_instance)


_plain_help(app)


def run() -> None:
    """Console-script entry: map vecpatch errors to one message and their exit code."""
    try:
        app()
    except VecpatchError as exc:
        fail(exc.message, exc.hint)
        raise SystemExit(int(exc.exit_code)) from None
