"""What the dashboard and the static report show, computed from one history snapshot.

Pure: a :class:`Snapshot` (plain data + computed metrics) in, template context out. The
FastAPI routes, ``vecpatch report`` and the tests share it, so the page and the report
can never disagree about a number. The triage rows (:mod:`vecpatch.web.triage`) are
computed once per snapshot and reused by every page of it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from vecpatch.catalog.model import Catalog
from vecpatch.catalog.staleness import catalog_age
from vecpatch.history.records import RunRecord
from vecpatch.metrics.compute import Metrics
from vecpatch.metrics.data import HistoryData
from vecpatch.metrics.exposure import exposure_over_time
from vecpatch.metrics.render import headline
from vecpatch.web.charts import Bar, Series, bar_chart, line_chart
from vecpatch.web.humane import plain, utc
from vecpatch.web.triage import Triage, triage

T = TypeVar("T")
DAY = 86_400.0
WINDOW_BARS = 20
"""The vulnerability-window chart shows the advisories with the longest windows only."""
TOP_ADVISORIES = 10


@dataclass(frozen=True)
class Snapshot:
    """The history as read at one moment, and the metrics computed from it."""

    data: HistoryData
    metrics: Metrics
    now: datetime
    history: str
    """The store's URL with any password hidden."""
    catalog: Catalog | None = None
    _memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def memo(self, key: str, compute: Callable[[], T]) -> T:
        """*compute*'s result, computed on first use and kept for this snapshot."""
        if key not in self._memo:
            self._memo[key] = compute()
        found: T = self._memo[key]
        return found

    @property
    def triage(self) -> Triage:
        """The advisory, server and database rows (computed on first use, then kept)."""
        return self.memo(
            "triage", lambda: triage(self.data, self.metrics.scope, _links(self.catalog))
        )


def _links(catalog: Catalog | None) -> dict[str, tuple[str, ...]]:
    if catalog is None:
        return {}
    return {a.id: tuple(r.url for r in a.references[:4]) for a in catalog.advisories}


def charts(snapshot: Snapshot) -> dict[str, Any]:
    m = snapshot.metrics
    over_time = exposure_over_time(snapshot.data, m.period, m.scope)
    stamp = "%Y-%m-%d %H:%M"
    exposure = [
        Series("databases exposed", [(p.at.strftime(stamp), float(p.exposed)) for p in over_time]),
        Series(
            "servers exposed",
            [(p.at.strftime(stamp), float(p.exposed_servers)) for p in over_time],
        ),
    ]
    cadence = [
        Bar(f"{e.target}/{e.database} {e.version}", e.seconds / DAY, e.within,
            "security" if e.security else "")
        for e in m.update_cadence.events
    ]  # fmt: skip
    return {
        "exposure": line_chart("chart-exposure", exposure, "count"),
        "cadence": bar_chart("chart-cadence", cadence, "days", axis="days from release"),
        "windows": bar_chart(
            "chart-windows",
            _window_bars(m),
            "days",
            limit=m.objectives.security_days,
            axis="days since the fix was available (longest per advisory)",
        ),
    }


def _window_bars(m: Metrics) -> list[Bar]:
    """One bar per advisory: its longest window (open or closed) and how many it has."""
    longest: dict[str, tuple[float, bool]] = {}
    counts: dict[str, int] = {}
    for w in m.vulnerability_window.windows:
        counts[w.advisory_id] = counts.get(w.advisory_id, 0) + 1
        if w.advisory_id not in longest or w.seconds > longest[w.advisory_id][0]:
            longest[w.advisory_id] = (w.seconds, w.is_open)
    ranked = sorted(longest.items(), key=lambda kv: -kv[1][0])[:WINDOW_BARS]
    limit = m.objectives.security_days * DAY
    return [
        Bar(advisory, seconds / DAY, seconds <= limit,
            f"{counts[advisory]} window{'s' if counts[advisory] != 1 else ''}"
            f"{', open' if is_open else ''}")
        for advisory, (seconds, is_open) in ranked
    ]  # fmt: skip


def run_row(run: RunRecord) -> dict[str, Any]:
    """A run as the list and the JSON API show it; ``facts`` is the summary as words."""
    summary = dict(run.summary or {})
    took = (run.finished_at - run.started_at).total_seconds() if run.finished_at else None
    return {
        "id": run.id,
        "kind": run.kind,
        "status": run.status,
        "environment": run.environment,
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "duration_seconds": took,
        "summary": summary,
        "facts": [(k.replace("_", " "), plain(v)) for k, v in summary.items()
                  if not isinstance(v, dict | list) or len(str(v)) < 120],
        "vecpatch_version": run.vecpatch_version,
    }  # fmt: skip


def common(snapshot: Snapshot) -> dict[str, Any]:
    """What every page's header shows."""
    age = catalog_age(snapshot.catalog, snapshot.now) if snapshot.catalog else None
    return {
        "now": snapshot.now,
        "now_utc": utc(snapshot.now),
        "history": snapshot.history,
        "period": snapshot.metrics.period.to_dict(),
        "environment": snapshot.metrics.scope.environment,
        "catalog_age_seconds": age.total_seconds() if age is not None else None,
        "catalog_at": snapshot.catalog.generated_at if snapshot.catalog else None,
    }


def overview_context(snapshot: Snapshot) -> dict[str, Any]:
    """The overview: what needs doing now, freshness, unreachable targets, metric cards,
    the most important advisories and the charts."""
    t = snapshot.triage
    scans = snapshot.data.runs_of("scan")
    return {
        **common(snapshot),
        "cards": headline(snapshot.metrics),
        "actions": [a.to_dict() for a in t.actions],
        "targets": t.targets,
        "down": [r for r in t.targets if not r["up"] or r["failed_databases"]],
        "advisories": [a.to_dict() for a in t.advisories[:TOP_ADVISORIES]],
        "advisories_total": len(t.advisories),
        "servers_total": len(t.servers),
        "databases_total": len(t.databases),
        "last_scan": scans[-1].started_at if scans else None,
        "charts": snapshot.memo("charts", lambda: charts(snapshot)),
    }


def dashboard_context(snapshot: Snapshot, run_limit: int = 50) -> dict[str, Any]:
    """Everything, for the one-file static report: every view without pagination."""
    runs = sorted(snapshot.data.runs, key=lambda r: r.started_at, reverse=True)[:run_limit]
    t = snapshot.triage
    return {
        **overview_context(snapshot),
        "all_advisories": [a.to_dict() for a in t.advisories],
        "servers": t.servers,
        "databases": t.databases,
        "runs": [run_row(r) for r in runs],
        "metrics": snapshot.metrics.to_dict(),
    }
