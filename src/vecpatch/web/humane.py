"""How values read on a page: times relative and in UTC, durations in units, no Python reprs.

Jinja filters for the dashboard and the static report, pure and shared by both (and by the
Markdown report), so ``True``, ``None``, microsecond ISO stamps and dict dumps never reach
an operator.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from markupsafe import Markup, escape

DASH = "–"


def parse_time(value: Any) -> datetime | None:
    """A datetime from a datetime or an ISO string (None when it is neither)."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def utc(value: Any) -> str:
    """``2026-12-02 07:19 UTC`` (minutes: seconds are noise on a dashboard)."""
    when = parse_time(value)
    return DASH if when is None else when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def ago(value: Any, now: datetime) -> str:
    """``3 h ago`` / ``in 2 d`` / ``just now``."""
    when = parse_time(value)
    if when is None:
        return DASH
    seconds = (now - when).total_seconds()
    text = span(abs(seconds))
    if abs(seconds) < 60:
        return "just now"
    return f"{text} ago" if seconds >= 0 else f"in {text}"


def span(seconds: float) -> str:
    """A coarse length of time: ``45 s``, ``12 min``, ``5 h``, ``3.5 d``."""
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 86_400 * 2:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86_400:.1f} d".replace(".0 d", " d")


def when(value: Any, now: datetime) -> Markup:
    """Relative time with the exact UTC time beside it, in a ``<time>`` element."""
    moment = parse_time(value)
    if moment is None:
        return Markup(DASH)
    return Markup(
        f'<time datetime="{escape(moment.isoformat())}" title="{escape(utc(moment))}">'
        f'{escape(ago(moment, now))} <span class="utc">{escape(utc(moment))}</span></time>'
    )


def duration(seconds: Any) -> str:
    """A measured duration: ``0.4 s``, ``12.3 s``, ``2 min 5 s`` (never ``0.000``)."""
    if not isinstance(seconds, int | float) or isinstance(seconds, bool):
        return DASH
    if seconds < 0.05:
        return "< 0.1 s"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s"


def plain(value: Any) -> str:
    """Any JSON-like value as words: yes/no, ``–`` for nothing, lists joined, mappings as
    ``key: value`` pairs."""
    if value is None or value == "":
        return DASH
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, Mapping):
        return "; ".join(f"{label(k)}: {plain(v)}" for k, v in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(plain(v) for v in value) if value else DASH
    if isinstance(value, datetime):
        return utc(value)
    return str(value)


def label(key: Any) -> str:
    """``fix_version`` -> ``fix version``."""
    return str(key).replace("_", " ")


FILTERS = {
    "utc": utc,
    "ago": ago,
    "when": when,
    "duration": duration,
    "plain": plain,
    "label": label,
    "span": span,
}
"""For a Jinja environment; ``ago`` and ``when`` take the page's ``now``:
``{{ run.started_at | when(now) }}``."""
