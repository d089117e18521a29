"""Option values and declarations that several commands share, declared once.

A duration read here is read the same way by ``apply``, ``rollout``, ``watch`` and the
worker's enqueue commands (see :mod:`vecpatch.durations`).
"""

from __future__ import annotations

import typer

from vecpatch.durations import parse_duration


def duration(text: str) -> float:
    """Seconds in a duration option; a bad one is a usage error (exit 2) naming the text."""
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
