"""When the next maintenance window of a target opens, and duration parsing.

The watcher announces a maintenance ahead of its window and the rollout reports when
a refused target could next be applied; both need the *start* of the next window in
the target's own time zone, which ``targets.window`` (parse only) does not compute.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from vecpatch.targets.window import parse_windows


def next_window_start(spec: str, timezone: str, now: datetime) -> datetime | None:
    """The earliest window start at or after ``now`` (aware, in the target's zone)."""
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    best: datetime | None = None
    for window in parse_windows(spec):
        for ahead in range(8):
            day = (local + timedelta(days=ahead)).date()
            if day.weekday() not in window.days:
                continue
            start = datetime.combine(day, window.start, tzinfo=zone)
            if start >= local and (best is None or start < best):
                best = start
                break
    return best
