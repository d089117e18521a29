"""Steps: timed, kept on the database's run and written to the history store as they end.

History writes are serialised with a lock: databases are applied concurrently and the
default SQLite store allows one writer at a time. A history write that fails never ends a
job (after COMMIT nothing may crash the story): it is kept in :attr:`Recorder.failures`,
the step stays on the run (and in the evidence), and the job refuses to update a database
while the history cannot record its backup.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from vecpatch.apply.model import DatabaseRun, Step
from vecpatch.history.records import ApplyStepRecord
from vecpatch.history.store import HistoryStore
from vecpatch.pgerrors import first_line


class Recorder:
    """Records steps for one run (``store`` may be None: dry runs and tests)."""

    def __init__(self, run_id: str, store: HistoryStore | None) -> None:
        self.run_id = run_id
        self.store = store
        self._lock = threading.Lock()
        self.failures: list[str] = []

    @contextmanager
    def step(self, run: DatabaseRun, name: str) -> Iterator[dict[str, Any]]:
        """Time a step; an exception marks it failed (and propagates)."""
        detail: dict[str, Any] = {}
        started, t0 = datetime.now(UTC), time.monotonic()
        outcome = "ok"
        try:
            yield detail
            outcome = str(detail.pop("outcome", "ok"))
        except BaseException as exc:
            outcome = "failed"
            detail.setdefault("error", first_line(exc))
            raise
        finally:
            self.add(run, Step(name, outcome, started, time.monotonic() - t0, detail))

    def add(self, run: DatabaseRun, step: Step) -> None:
        run.steps.append(step)
        if self.store is None:
            return
        record = ApplyStepRecord(
            run_id=self.run_id,
            target=run.target,
            database=run.database,
            step=step.name,
            outcome=step.outcome,
            started_at=step.started_at,
            duration=step.duration,
            detail=dict(step.detail),
        )
        with self._lock:
            try:
                self.store.record_apply_step(record)
            except Exception as exc:  # the evidence still carries the step
                self.failures.append(f"{run.label} {step.name}: {_first_line(exc)}")

    def incident(self, run: DatabaseRun, title: str, cause: str) -> None:
        if self.store is None:
            return
        with self._lock:
            try:
                self.store.add_incident(
                    title,
                    source="apply",
                    target=run.target,
                    database=run.database,
                    cause=cause,
                    run_id=self.run_id,
                )
            except Exception as exc:  # the run's reasons still say it
                self.failures.append(f"{run.label} incident: {_first_line(exc)}")


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
