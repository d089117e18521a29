"""Where the dashboard's numbers come from: one open history store, read per request.

Reading the whole history and computing at request time keeps the server stateless
(any number of ``vecpatch serve`` processes agree, and a restart loses nothing).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from vecpatch.catalog.model import Catalog
from vecpatch.history.store import HistoryStore
from vecpatch.metrics import Objectives, Period, Scope, compute_metrics, load_history
from vecpatch.metrics.data import parse_since
from vecpatch.web.views import Snapshot


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class HistorySource:
    """A store plus the choices (period, environment, objectives) every view uses."""

    store: HistoryStore
    catalog: Catalog | None = None
    since: str | None = "30d"
    scope: Scope = field(default_factory=Scope)
    objectives: Objectives = field(default_factory=Objectives)
    clock: Callable[[], datetime] = _utcnow

    def snapshot(self) -> Snapshot:
        now = self.clock()
        period = Period(until=now, since=parse_since(self.since, now))
        data = load_history(self.store, self.catalog)
        metrics = compute_metrics(data, period, self.objectives, self.scope)
        return Snapshot(data, metrics, now, self.store.url)
