"""Steps: timed, kept on the database's run and written to the history store as they end.

History writes are serialised with a lock: databases are applied concurrently and the
default SQLite store allows one writer at a time.
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
            self.store.record_apply_step(record)

    def incident(self, run: DatabaseRun, title: str, cause: str) -> None:
        if self.store is None:
            return
        with self._lock:
            self.store.add_incident(
                title,
                source="apply",
                target=run.target,
                database=run.database,
                cause=cause,
                run_id=self.run_id,
            )
