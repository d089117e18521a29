"""Problems found in targets input, collected rather than raised one at a time.

Operators fix a targets file faster when they see every mistake at once, so
validation gathers :class:`Problem` values and only the caller decides whether
they are fatal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from vecpatch.errors import UsageError

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    """One mistake (or doubtful choice) in targets input, with where it is."""

    message: str
    source: str = ""
    """The file (or ``"arguments"``) the problem is in."""
    location: str = ""
    """Which part: ``targets[2] (orders)``, ``defaults``, ``settings``…"""
    field: str = ""
    line: int | None = None
    severity: Severity = "error"

    def where(self) -> str:
        """``file:line: targets[0] (orders).field`` — as much of it as is known."""
        head = self.source
        if self.line is not None:
            head = f"{head}:{self.line}" if head else f"line {self.line}"
        part = self.location
        if self.field:
            part = f"{part}.{self.field}" if part else self.field
        return ": ".join(p for p in (head, part) if p)

    def __str__(self) -> str:
        where = self.where()
        return f"{where}: {self.message}" if where else self.message


class TargetsError(UsageError):
    """Targets input that cannot be used; carries every problem found."""

    def __init__(self, problems: Sequence[Problem], *, hint: str | None = None) -> None:
        self.problems = tuple(problems)
        errors = [p for p in self.problems if p.severity == "error"]
        if len(errors) == 1:
            message = str(errors[0])
        else:
            lines = "\n".join(f"  {p}" for p in errors)
            message = f"{len(errors)} problems in targets:\n{lines}"
        super().__init__(message, hint=hint)
