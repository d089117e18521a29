"""CVSS vectors to scores and qualitative levels.

Feeds disagree on scores or omit them, so the 3.1 base score is computed from the
vector itself (FIRST CVSS v3.1 specification, section 7). For 4.0 the full scoring
needs the macro-vector lookup tables; we parse the vector and take the level from a
supplied score, or give a conservative estimate that is marked as such.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from vecpatch.errors import UsageError


class CvssError(UsageError):
    """A CVSS vector that does not follow the specification."""


class Severity(StrEnum):
    """Qualitative severity, ordered; UNKNOWN is kept apart (no score anywhere)."""

    NONE = "none"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"
    UNKNOWN = "unknown"

    @property
    def rank(self) -> int:
        """Ordering for thresholds; UNKNOWN ranks as HIGH so it is never waved through."""
        order = ["none", "low", "medium", "high", "critical"]
        return order.index("high" if self is Severity.UNKNOWN else self.value)

    @classmethod
    def from_score(cls, score: float) -> Severity:
        if score == 0:
            return cls.NONE
        if score < 4.0:
            return cls.LOW
        if score < 7.0:
            return cls.MEDIUM
        if score < 9.0:
            return cls.HIGH
        return cls.CRITICAL


_V3_WEIGHTS: dict[str, dict[str, float]] = {
    "AV": {"N": 0.85, "A": 0.62, "L": 0.55, "P": 0.2},
    "AC": {"L": 0.77, "H": 0.44},
    "UI": {"N": 0.85, "R": 0.62},
    "C": {"H": 0.56, "L": 0.22, "N": 0.0},
    "I": {"H": 0.56, "L": 0.22, "N": 0.0},
    "A": {"H": 0.56, "L": 0.22, "N": 0.0},
}
_PR = {"U": {"N": 0.85, "L": 0.62, "H": 0.27}, "C": {"N": 0.85, "L": 0.68, "H": 0.5}}
_V3_REQUIRED = ("AV", "AC", "PR", "UI", "S", "C", "I", "A")

_V4_REQUIRED = ("AV", "AC", "AT", "PR", "UI", "VC", "VI", "VA", "SC", "SI", "SA")


def _roundup(value: float) -> float:
    """The spec's Roundup: smallest one-decimal number >= value, float-error safe."""
    as_int = round(value * 100000)
    if as_int % 10000 == 0:
        return as_int / 100000.0
    return (math.floor(as_int / 10000) + 1) / 10.0


def _metrics(vector: str, prefix: str) -> dict[str, str]:
    parts = vector.strip().split("/")
    if not parts or parts[0] != prefix:
        raise CvssError(f"CVSS vector must start with {prefix}: {vector!r}")
    metrics: dict[str, str] = {}
    for part in parts[1:]:
        key, sep, value = part.partition(":")
        if not sep or not key or not value or key in metrics:
            raise CvssError(f"malformed CVSS metric {part!r} in {vector!r}")
        metrics[key] = value
    return metrics


@dataclass(frozen=True)
class Cvss:
    """A parsed vector with its base score (None if unknown) and level."""

    version: str
    vector: str
    score: float | None
    severity: Severity
    estimated: bool = False


def cvss31_base_score(vector: str) -> float:
    """Compute the CVSS 3.0/3.1 base score of ``vector`` (``CVSS:3.1/AV:N/...``)."""
    prefix = vector.split("/", 1)[0]
    if prefix not in ("CVSS:3.1", "CVSS:3.0"):
        raise CvssError(f"not a CVSS 3.x vector: {vector!r}")
    m = _metrics(vector, prefix)
    missing = [k for k in _V3_REQUIRED if k not in m]
    if missing:
        raise CvssError(f"CVSS vector {vector!r} lacks base metrics {', '.join(missing)}")
    try:
        scope_changed = {"U": False, "C": True}[m["S"]]
        av, ac, ui = (_V3_WEIGHTS[k][m[k]] for k in ("AV", "AC", "UI"))
        c, i, a = (_V3_WEIGHTS[k][m[k]] for k in ("C", "I", "A"))
        pr = _PR[m["S"]][m["PR"]]
    except KeyError as exc:
        raise CvssError(f"unknown metric value in {vector!r}") from exc
    iss = 1 - (1 - c) * (1 - i) * (1 - a)
    impact = 7.52 * (iss - 0.029) - 3.25 * (iss - 0.02) ** 15 if scope_changed else 6.42 * iss
    exploitability = 8.22 * av * ac * pr * ui
    if impact <= 0:
        return 0.0
    if scope_changed:
        return _roundup(min(1.08 * (impact + exploitability), 10))
    return _roundup(min(impact + exploitability, 10))


def _estimate_v4(m: dict[str, str]) -> Severity:
    """A coarse, deliberately pessimistic level for a 4.0 vector without a score."""
    impacts = [m[k] for k in ("VC", "VI", "VA", "SC", "SI", "SA")]
    if "H" in impacts:
        easy = m["AV"] == "N" and m["PR"] == "N" and m["UI"] == "N" and m["AT"] == "N"
        return Severity.CRITICAL if easy else Severity.HIGH
    if "L" in impacts:
        return Severity.MEDIUM
    return Severity.LOW


def parse_cvss(vector: str, score: float | None = None) -> Cvss:
    """Parse a 3.x or 4.0 vector; a supplied ``score`` wins only for 4.0."""
    vector = vector.strip()
    if vector.startswith("CVSS:3."):
        computed = cvss31_base_score(vector)
        return Cvss(vector.split("/", 1)[0][5:], vector, computed, Severity.from_score(computed))
    if vector.startswith("CVSS:4.0"):
        m = _metrics(vector, "CVSS:4.0")
        missing = [k for k in _V4_REQUIRED if k not in m]
        if missing:
            raise CvssError(f"CVSS vector {vector!r} lacks base metrics {', '.join(missing)}")
        if score is not None:
            return Cvss("4.0", vector, score, Severity.from_score(score))
        return Cvss("4.0", vector, None, _estimate_v4(m), estimated=True)
    raise CvssError(f"unsupported CVSS vector: {vector!r}")
