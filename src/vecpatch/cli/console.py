"""Shared Rich consoles and verbosity, so every command prints the same way.

Data goes to stdout; progress, warnings and summaries go to stderr, so that
``vecpatch scan --format json > out.json`` stays machine-readable.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape

if TYPE_CHECKING:
    from vecpatch.redact import RedactingFilter

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False)


@dataclass
class Verbosity:
    """Global output level set by ``-v`` / ``--quiet``."""

    level: int = 0  # -1 quiet, 0 normal, 1+ verbose

    @property
    def quiet(self) -> bool:
        return self.level < 0


verbosity = Verbosity()


@cache
def redacting_filter() -> RedactingFilter:
    """The one filter every log record passes through; commands register secrets with ``.add``.

    Created on first use, so that ``--help`` and ``--version`` do not import pydantic.
    """
    from vecpatch.redact import RedactingFilter

    return RedactingFilter()


def configure_logging(level: int) -> None:
    """Route the ``vecpatch`` logger to stderr at the chosen verbosity."""
    verbosity.level = level
    log_level = logging.WARNING if level <= 0 else logging.INFO if level == 1 else logging.DEBUG
    if level < 0:
        log_level = logging.ERROR
    handler = RichHandler(console=err, show_path=False, show_time=False)
    handler.addFilter(redacting_filter())
    logger = logging.getLogger("vecpatch")
    logger.handlers[:] = [handler]
    logger.setLevel(log_level)
    logger.propagate = False


def info(message: str) -> None:
    """A progress or summary line on stderr, suppressed by ``--quiet``."""
    if not verbosity.quiet:
        err.print(message, markup=False)


def fail(message: str, hint: str | None = None) -> None:
    """One clear error message on stderr (never suppressed); user text is never read as markup."""
    err.print(f"[bold red]error:[/] {escape(message)}")
    if hint:
        err.print(f"[dim]hint:[/] {escape(hint)}")
