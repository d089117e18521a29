"""What the dashboard and the static report show, computed from one history snapshot.

Pure: a :class:`Snapshot` (plain data + computed metrics) in, template context out. The
FastAPI routes, ``vecpatch report`` and the tests share it, so the page and the report
can never disagree about a number.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from vecpatch.history.records import RunRecord
from vecpatch.metrics.compute import Metrics
from vecpatch.metrics.data import HistoryData
from vecpatch.metrics.exposure import exposure_over_time
from vecpatch.metrics.render import headline
from vecpatch.web.charts import Bar, bar_chart, line_chart

DAY = 86_400.0
WINDOW_BARS = 25
"""The vulnerability-window chart shows the longest windows only (all are in the JSON)."""


@dataclass(frozen=True)
class Snapshot:
    """The history as read at one moment, and the metrics computed from it."""

    data: HistoryData
    metrics: Metrics
    now: datetime
    history: str
    """The store's URL with any password hidden."""


def charts(snapshot: Snapshot) -> dict[str, Any]:
    m = snapshot.metrics
    points = [
        (p.at.strftime("%Y-%m-%d %H:%M"), float(p.exposed))
        for p in exposure_over_time(snapshot.data, m.period, m.scope)
    ]
    cadence = [
        Bar(
            f"{e.target}/{e.database} {e.version}",
            e.seconds / DAY,
            e.within,
            "security" if e.security else "",
        )
        for e in m.update_cadence.events
    ]
    longest = sorted(m.vulnerability_window.windows, key=lambda w: -w.seconds)[:WINDOW_BARS]
    windows = [
        Bar(
            f"{w.target}/{w.database} {w.advisory_id}",
            w.seconds / DAY,
            w.seconds <= m.objectives.security_days * DAY,
            "open" if w.is_open else "",
        )
        for w in longest
    ]
    return {
        "exposure": line_chart("chart-exposure", points, "exposed databases"),
        "cadence": bar_chart("chart-cadence", cadence, "days"),
        "windows": bar_chart("chart-windows", windows, "days", limit=m.objectives.security_days),
    }


def run_row(run: RunRecord) -> dict[str, Any]:
    summary = dict(run.summary or {})
    return {
        "id": run.id,
        "kind": run.kind,
        "status": run.status,
        "environment": run.environment,
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "summary": summary,
        "vecpatch_version": run.vecpatch_version,
    }


def dashboard_context(snapshot: Snapshot, run_limit: int = 50) -> dict[str, Any]:
    runs = sorted(snapshot.data.runs, key=lambda r: r.started_at, reverse=True)[:run_limit]
    return {
        "now": snapshot.now.isoformat(timespec="seconds"),
        "history": snapshot.history,
        "period": snapshot.metrics.period.to_dict(),
        "environment": snapshot.metrics.scope.environment,
        "cards": headline(snapshot.metrics),
        "fleet": [r.to_dict() for r in snapshot.metrics.exposure.rows],
        "charts": charts(snapshot),
        "metrics": snapshot.metrics.to_dict(),
        "runs": [run_row(r) for r in runs],
        "windows_shown": min(WINDOW_BARS, len(snapshot.metrics.vulnerability_window.windows)),
        "windows_total": len(snapshot.metrics.vulnerability_window.windows),
    }
