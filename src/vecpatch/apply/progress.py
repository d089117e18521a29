"""What an apply tells a watching operator as it goes: each step's start and end, and the
soak's countdown.

An observer, not a logger: the apply calls these hooks (the recorder around each step,
the soak once a second) and the CLI draws them on stderr; workers and tests pass
:data:`SILENT`. Kept apart from the runner so that its steps need no knowledge of the
terminal.
"""

from __future__ import annotations

from typing import Protocol


class StepProgress(Protocol):
    """Hooks an apply calls; every one must be cheap and must never raise."""

    def started(self, where: str, step: str) -> None:
        """*step* (``backup``, ``update``, ``soak``…) began on *where* (``target/db``)."""

    def finished(self, where: str, step: str, outcome: str, seconds: float) -> None:
        """*step* ended ``ok``, ``failed``, ``skipped``… after *seconds*."""

    def soaking(self, where: str, left: float, total: float) -> None:
        """The soak after COMMIT has *left* of *total* seconds to go."""


class _Silent:
    def started(self, where: str, step: str) -> None:
        return None

    def finished(self, where: str, step: str, outcome: str, seconds: float) -> None:
        return None

    def soaking(self, where: str, left: float, total: float) -> None:
        return None


SILENT: StepProgress = _Silent()
"""For workers, dry runs and tests: nothing is shown."""
