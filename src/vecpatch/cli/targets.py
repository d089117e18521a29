"""`vecpatch targets` commands."""

import typer

app = typer.Typer(help="targets commands.", no_args_is_help=True)
