"""Vulnerability window: per advisory x database (or x server for PostgreSQL advisories),
fix available -> fixed in production.

Derived from scans over time (see ``docs/metrics.md``):

* databases and servers are keyed by the server's identity, so aliases merge; a
  server-level advisory has one window per server, never one per database;
* a window **opens** for (server, database, advisory) at the first scan that shows an
  exposed, unmuted ``VULNERABLE`` finding with a fix version. Its start is when the fix
  became available: the finding's ``fix_available_at`` (the fixing release's date), else
  when vecpatch first saw the advisory (``catalog_first_seen``), else that scan. If an
  earlier scan had already seen the database *without* the finding (a downgrade, a new
  install), the start is that first scan instead — the database was not vulnerable before;
* it **closes** at the first later scan that reaches the database and no longer shows it
  (``closed_by="fixed"``), or at the first later scan whose list of the server's databases
  no longer has it (``closed_by="dropped"``). A scan that merely did not select the
  database closes nothing; a database seen again after it was dropped is a new database
  (a window it opens starts at that scan);
* an open window counts up to the end of the period ("now").

Windows are kept when they overlap the period. The objective is the security-update one:
every window, open or closed, at most ``security_days`` long.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from vecpatch.history.records import FindingRecord
from vecpatch.metrics.data import ALL, HistoryData, Period, Scope
from vecpatch.metrics.objectives import Objectives
from vecpatch.metrics.scans import ScanView, is_exposure, scan_views
from vecpatch.metrics.stats import summary

DAY = 86_400.0

ClosedBy = Literal["fixed", "dropped"]


@dataclass(frozen=True)
class Window:
    """One advisory's exposure of one database, or (``database`` None) of one server."""

    target: str
    database: str | None
    advisory_id: str
    severity: str | None
    opened_at: datetime
    first_seen_at: datetime
    closed_at: datetime | None
    seconds: float
    closed_by: ClosedBy | None = None
    """Why it closed: a scan no longer showed the advisory (``fixed``) or the database no
    longer exists (``dropped``); None while open."""
    server: str = ""
    """The server's identity (aliases of one server share it)."""

    @property
    def is_open(self) -> bool:
        return self.closed_at is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "server": self.server,
            "database": self.database,
            "advisory_id": self.advisory_id,
            "severity": self.severity,
            "opened_at": self.opened_at.isoformat(),
            "first_seen_at": self.first_seen_at.isoformat(),
            "closed_at": self.closed_at.isoformat() if self.closed_at else None,
            "closed_by": self.closed_by,
            "open": self.is_open,
            "seconds": self.seconds,
            "days": round(self.seconds / DAY, 3),
        }


@dataclass
class _Open:
    opened_at: datetime
    first_seen_at: datetime
    severity: str | None
    target: str


def _start(finding: FindingRecord, at: datetime, seen_clean: bool, data: HistoryData) -> datetime:
    if seen_clean:
        return at
    if finding.fix_available_at is not None:
        return finding.fix_available_at
    known = data.first_seen.get(f"advisory:{finding.advisory_id}")
    return known if known is not None else at


Subject = tuple[str, str | None]
"""(server, database); database None for the server itself (PostgreSQL advisories)."""


def _observed(view: ScanView) -> Iterator[tuple[Subject, str, list[FindingRecord]]]:
    """Every database and server this scan reached: key, target name, its own findings."""
    for key, row in view.rows.items():
        if row.reachable:
            yield key, row.target, view.findings.get(key, [])
    for server, row in view.servers.items():
        if view.server_reached(server):
            yield (server, None), row.target, view.server_findings.get(server, [])


def vulnerability_windows(data: HistoryData, until: datetime, scope: Scope = ALL) -> list[Window]:
    """Every window in the history (in *scope*), open ones counted up to *until*."""
    open_: dict[tuple[str, str | None, str], _Open] = {}
    scans: dict[Subject, int] = {}
    """How many scans reached each database or server so far."""
    showing: dict[tuple[str, str | None, str], int] = {}
    """How many of those showed each advisory (fewer means it was once seen clean)."""
    done: list[Window] = []
    for view in scan_views(data, scope):
        for key in [k for k in scans if k[1] is not None and view.dropped((k[0], k[1]))]:
            for wkey in [w for w in open_ if w[:2] == key]:
                done.append(_window(wkey, open_.pop(wkey), view.at, "dropped"))
            # gone: were a database of that name seen again, it was not vulnerable before
            scans[key] += 1
        for key, target, findings in _observed(view):
            shown = {f.advisory_id: f for f in findings if is_exposure(f) and f.advisory_id}
            for adv, finding in shown.items():
                wkey = (*key, adv)
                if wkey not in open_ and finding.fix_version:
                    clean_before = scans.get(key, 0) > showing.get(wkey, 0)
                    start = min(_start(finding, view.at, clean_before, data), view.at)
                    open_[wkey] = _Open(start, view.at, finding.severity, target)
                showing[wkey] = showing.get(wkey, 0) + 1
            for wkey in [w for w in open_ if w[:2] == key and w[2] not in shown]:
                done.append(_window(wkey, open_.pop(wkey), view.at, "fixed"))
            scans[key] = scans.get(key, 0) + 1
    done += [_window(wkey, state, None, None, until) for wkey, state in open_.items()]
    return sorted(done, key=lambda w: (w.opened_at, w.server, w.database or "", w.advisory_id))


def _window(
    key: tuple[str, str | None, str],
    state: _Open,
    closed: datetime | None,
    closed_by: ClosedBy | None,
    until: datetime | None = None,
) -> Window:
    end = closed if closed is not None else until
    assert end is not None
    return Window(
        target=state.target,
        server=key[0],
        database=key[1],
        advisory_id=key[2],
        severity=state.severity,
        opened_at=state.opened_at,
        first_seen_at=state.first_seen_at,
        closed_at=closed,
        closed_by=closed_by,
        seconds=max(0.0, (end - state.opened_at).total_seconds()),
    )


@dataclass(frozen=True)
class WindowMetric:
    windows: tuple[Window, ...]
    period: Period
    limit_days: float

    @property
    def met(self) -> bool | None:
        if not self.windows:
            return None
        return all(w.seconds <= self.limit_days * DAY for w in self.windows)

    def to_dict(self) -> dict[str, Any]:
        seconds = [w.seconds for w in self.windows]
        return {
            "value": summary(seconds),
            "unit": "seconds",
            "open": sum(1 for w in self.windows if w.is_open),
            "closed": sum(1 for w in self.windows if not w.is_open),
            "period": self.period.to_dict(),
            "target": {"max_days": self.limit_days},
            "met": self.met,
            "windows": [w.to_dict() for w in self.windows],
        }


def vulnerability_window(
    data: HistoryData, period: Period, objectives: Objectives, scope: Scope = ALL
) -> WindowMetric:
    """Windows overlapping the period (closed in it, or still open)."""
    kept = [
        w
        for w in vulnerability_windows(data, period.until, scope)
        if w.opened_at <= period.until
        and (w.closed_at is None or period.since is None or w.closed_at >= period.since)
    ]
    return WindowMetric(tuple(kept), period, objectives.security_days)
