"""Maintenance windows such as ``"sat 02:00-04:00"`` or ``"mon-fri 01:30-03:00"``.

Only parsed and validated for now, so a typo is caught by ``targets validate``
long before a rollout would rely on the window. Several windows can be joined
with ``;``. An end before the start means the window crosses midnight.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPAN = re.compile(r"^(?P<days>\S+)\s+(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})$")


@dataclass(frozen=True)
class Window:
    """One recurring window: on these weekdays (0 = Monday), from start to end."""

    days: frozenset[int]
    start: time
    end: time


def _parse_days(text: str) -> frozenset[int]:
    if text in ("daily", "*"):
        return frozenset(range(7))
    days: set[int] = set()
    for part in text.split(","):
        first, _, last = part.partition("-")
        if first not in DAYS or (last and last not in DAYS):
            raise ValueError(f"unknown day {part!r} (use {', '.join(DAYS)}, ranges or 'daily')")
        lo, hi = DAYS.index(first), DAYS.index(last or first)
        span = range(lo, hi + 1) if lo <= hi else [*range(lo, 7), *range(hi + 1)]
        days.update(span)
    return frozenset(days)


def _parse_time(text: str) -> time:
    hours, minutes = (int(x) for x in text.split(":"))
    if hours == 24 and minutes == 0:
        return time.max
    if not (0 <= hours < 24 and 0 <= minutes < 60):
        raise ValueError(f"invalid time {text!r}")
    return time(hours, minutes)


def parse_windows(spec: str) -> tuple[Window, ...]:
    """Parse ``"sat 02:00-04:00; sun 02:00-04:00"``; raise ValueError with the reason."""
    windows = []
    for chunk in spec.split(";"):
        match = _SPAN.match(chunk.strip().lower())
        if not match:
            raise ValueError(f"expected 'DAYS HH:MM-HH:MM' (e.g. 'sat 02:00-04:00'), got {chunk!r}")
        start, end = _parse_time(match["start"]), _parse_time(match["end"])
        if start == end:
            raise ValueError(f"window {chunk.strip()!r} is empty")
        windows.append(Window(_parse_days(match["days"]), start, end))
    return tuple(windows)
