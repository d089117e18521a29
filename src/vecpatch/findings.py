"""What an assessment concludes: findings, per database or per server.

A finding is a value: kind, severity, where, why, and the exact next action. The
scan's JSON schema (``docs/scan-json.md``) is these fields, so renaming one is a
schema change.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from vecpatch.catalog.cvss import Severity


class FindingKind(StrEnum):
    """Every kind of finding a scan can report."""

    VULNERABLE = "VULNERABLE"
    OUTDATED = "OUTDATED"
    CATALOG_BEHIND_BINARY = "CATALOG_BEHIND_BINARY"
    PG_MINOR_BEHIND = "PG_MINOR_BEHIND"
    PG_EOL = "PG_EOL"
    PG_EOL_SOON = "PG_EOL_SOON"
    NO_UPDATE_PATH = "NO_UPDATE_PATH"
    UNSUPPORTED_COMBINATION = "UNSUPPORTED_COMBINATION"
    ON_REPLICA = "ON_REPLICA"
    NOT_INSTALLED = "NOT_INSTALLED"
    UNREACHABLE = "UNREACHABLE"
    AUTH_FAILED = "AUTH_FAILED"
    INSUFFICIENT_PRIVILEGE = "INSUFFICIENT_PRIVILEGE"

    @property
    def is_scan_failure(self) -> bool:
        """True for kinds that mean "could not be scanned" (``--strict`` turns them into exit 3)."""
        return self in _FAILURES


_FAILURES = {
    FindingKind.UNREACHABLE,
    FindingKind.AUTH_FAILED,
    FindingKind.INSUFFICIENT_PRIVILEGE,
}

SEVERITY_ORDER = ("info", "low", "medium", "high", "critical")


def count_by_severity(severities: Iterable[str]) -> str:
    """ "2 high, 1 low" style summary (highest first; info and none are left out)."""
    counts = Counter(severities)
    return ", ".join(f"{counts[s]} {s}" for s in reversed(SEVERITY_ORDER[1:]) if counts[s])


def severity_rank(severity: str) -> int:
    """Rank for ``--fail-on`` thresholds; "unknown" ranks as high so it is never waved through."""
    if severity == Severity.UNKNOWN.value:
        return SEVERITY_ORDER.index("high")
    if severity == Severity.NONE.value:
        return 0
    return SEVERITY_ORDER.index(severity)


@dataclass(frozen=True)
class Finding:
    """One conclusion about a database (or, with ``database=None``, about its server)."""

    kind: FindingKind
    severity: str
    target: str
    database: str | None
    title: str
    next_action: str
    product: str | None = None
    id: str | None = None
    aliases: tuple[str, ...] = ()
    advisory_severity: str | None = None
    cvss_score: float | None = None
    affected: bool | None = None
    exposed: bool | None = None
    reasons: tuple[str, ...] = ()
    mitigations: tuple[str, ...] = ()
    installed_version: str | None = None
    fix_version: str | None = None
    fix_available_at: date | None = None
    fixable: bool = True
    muted: bool = False
    muted_reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (dates as ISO strings)."""
        data = asdict(self)
        data["kind"] = self.kind.value
        data["aliases"] = list(self.aliases)
        data["reasons"] = list(self.reasons)
        data["mitigations"] = list(self.mitigations)
        data["fix_available_at"] = (
            self.fix_available_at.isoformat() if self.fix_available_at else None
        )
        return data

    @property
    def rank(self) -> int:
        return severity_rank(self.severity)
