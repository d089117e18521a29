"""The targets each metric is judged against (called objectives here, to keep "target"
for the databases' servers).

Defaults follow the seed: security fixes within 7 days, other updates within 30,
more than 99 % of production updates succeed, 100 % of critical staging cases pass,
zero incidents attributed to known advisories. Operators override them with CLI options
or in the targets file under ``[settings.metrics]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from vecpatch.errors import UsageError


@dataclass(frozen=True)
class Objectives:
    """What "met" means for each metric."""

    security_days: float = 7.0
    """Security updates (and vulnerability windows) must close within this many days."""
    other_days: float = 30.0
    """Other updates must reach production within this many days of their release."""
    success_ratio: float = 0.99
    """Share of production updates that must succeed (met when the ratio is at least this)."""
    coverage_ratio: float = 1.0
    """Share of critical staging cases that must have passed before every production apply."""
    max_security_incidents: int = 0
    """Incidents attributed to known advisories tolerated in the period."""
    max_exposed_databases: int = 0
    """Databases allowed to be exposed to a known advisory right now."""

    def to_dict(self) -> dict[str, float | int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def updated(self, values: Mapping[str, Any]) -> Objectives:
        """A copy with *values* applied; unknown keys and bad values are usage errors."""
        known = {f.name: f.type for f in fields(self)}
        changes: dict[str, Any] = {}
        problems: list[str] = []
        for key, value in values.items():
            if value is None:
                continue
            if key not in known:
                problems.append(f"unknown metrics setting {key!r} (known: {', '.join(known)})")
                continue
            try:
                number = int(value) if key.startswith("max_") else float(value)
            except (TypeError, ValueError):
                problems.append(f"metrics setting {key} must be a number, not {value!r}")
                continue
            if number < 0 or (key.endswith("_ratio") and number > 1):
                problems.append(f"metrics setting {key} out of range: {value!r}")
                continue
            changes[key] = number
        if problems:
            raise UsageError("; ".join(problems))
        return replace(self, **changes)


DEFAULTS = Objectives()
