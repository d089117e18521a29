"""Where the dashboard's numbers come from: one open history store, read per request.

Reading the history and computing at request time keeps the server stateless (any number
of ``vecpatch serve`` processes agree, and a restart loses nothing). A request first asks
the store for its version (a few aggregates); the history is read again only when that
changed, and the metrics are computed at most once a minute for the same version, so a
Prometheus scrape every 15 s does not re-read months of scans.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from vecpatch.catalog.model import Catalog
from vecpatch.history.store import HistoryStore
from vecpatch.metrics import Metrics, Objectives, Period, Scope, compute_metrics, load_history
from vecpatch.metrics.data import HistoryData, parse_since
from vecpatch.metrics.load import history_version
from vecpatch.web.views import Snapshot

MAX_AGE = 300.0
"""Seconds after which the history is read again even if its version looks the same (a
first-seen date moved earlier in place is the one write the version can miss)."""


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

    _cache: _Cached | None = field(default=None, init=False, repr=False, compare=False)

    def snapshot(self) -> Snapshot:
        """The history and its metrics (computed at most once a minute per version)."""
        now = self.clock()
        version = history_version(self.store)
        cached = self._cache
        if cached is None or cached.version != version or cached.age() > MAX_AGE:
            cached = _Cached(version, load_history(self.store, self.catalog))
            self._cache = cached
        minute = now.replace(second=0, microsecond=0)
        if minute not in cached.metrics:
            period = Period(until=now, since=parse_since(self.since, now))
            metrics = compute_metrics(cached.data, period, self.objectives, self.scope)
            cached.metrics = {minute: (now, metrics)}
        return cached.snapshot(minute, self.store.url, self.catalog)


@dataclass
class _Cached:
    """One version of the history as read, and its metrics for the latest minute asked."""

    version: tuple[Any, ...]
    data: HistoryData
    loaded: float = field(default_factory=time.monotonic)
    metrics: dict[datetime, tuple[datetime, Metrics]] = field(default_factory=dict)

    snapshots: dict[datetime, Snapshot] = field(default_factory=dict)
    """One snapshot per metrics minute, so its triage rows are computed once for every
    page and scrape of that minute."""

    def age(self) -> float:
        return time.monotonic() - self.loaded

    def snapshot(self, minute: datetime, history: str, catalog: Catalog | None) -> Snapshot:
        computed_at, metrics = self.metrics[minute]
        if minute not in self.snapshots:
            self.snapshots = {minute: Snapshot(self.data, metrics, computed_at, history, catalog)}
        return self.snapshots[minute]
