"""When the next maintenance window of a target opens, and duration parsing.

The watcher announces a maintenance ahead of its window and the rollout reports when
a refused target could next be applied; both need the *start* of the next window in
the target's own time zone, which ``targets.window`` (parse only) does not compute.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from vecpatch.targets.window import parse_windows

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h|d)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, None: 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(text: str) -> float:
    """Seconds in ``"10m"``, ``"2h"``, ``"1d"``, ``"500ms"`` or a bare number of seconds."""
    found = _DURATION.match(text)
    if not found:
        raise ValueError(f"not a duration: {text!r} (e.g. 30s, 10m, 2h, 1d)")
    return float(found.group(1)) * _UNITS[found.group(2)]


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
