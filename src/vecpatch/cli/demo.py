"""`vecpatch demo`: the whole product on an embedded sandbox."""

import typer


def register(app: typer.Typer) -> None:
    """Attach the demo command to the main app."""
