"""Maintenance windows: may we write to this target now?

A window is recurring local time (``"sat 02:00-04:00"``) in the target's time zone; a
window whose end is before its start crosses midnight and belongs to the day it starts.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from vecpatch.targets.window import Window, parse_windows


def _inside(window: Window, local: datetime) -> bool:
    now_t = local.time()
    end = window.end
    if window.start < end or end == time.max:
        return local.weekday() in window.days and window.start <= now_t < end
    yesterday = (local - timedelta(days=1)).weekday()
    return (local.weekday() in window.days and now_t >= window.start) or (
        yesterday in window.days and now_t < end
    )


def window_refusal(spec: str | None, timezone: str, now: datetime) -> str | None:
    """Why ``now`` is outside the target's windows (``None``: allowed or no window set)."""
    if not spec:
        return None
    local = now.astimezone(ZoneInfo(timezone))
    if any(_inside(w, local) for w in parse_windows(spec)):
        return None
    return (
        f"outside the maintenance window {spec!r} ({timezone}; it is now "
        f"{local:%a %H:%M} there); use --now to apply anyway"
    )
