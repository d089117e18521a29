"""`vecpatch scan`: inventory and assessment of every database of every target."""

import typer


def register(app: typer.Typer) -> None:
    """Attach the scan command to the main app."""
