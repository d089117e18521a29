"""The one way vecpatch reads a length of time: ``500ms``, ``30s``, ``10m``, ``2h``, ``1d``, ``2w``.

Every option that takes a duration (``--soak``, ``--bake``, ``--lock-timeout``,
``--interval``, ``--since``…) goes through :func:`parse_duration`, so a unit that works
for one works for all of them.
"""

from __future__ import annotations

import re

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h|d|w)?\s*$")
_UNITS = {
    "ms": 0.001,
    "s": 1.0,
    None: 1.0,
    "m": 60.0,
    "min": 60.0,
    "h": 3600.0,
    "d": 86400.0,
    "w": 7 * 86400.0,
}
EXAMPLES = "e.g. 500ms, 30s, 10m, 2h, 1d, 2w"


def parse_duration(text: str, *, unit_required: bool = False) -> float:
    """Seconds in *text*; a bare number is seconds unless *unit_required*.

    Raises ValueError naming the text and the accepted forms.
    """
    found = _DURATION.match(text)
    if not found or (unit_required and found.group(2) is None):
        raise ValueError(f"not a duration: {text!r} ({EXAMPLES})")
    return float(found.group(1)) * _UNITS[found.group(2)]
