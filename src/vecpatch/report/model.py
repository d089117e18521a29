"""The scan report: every target, every database, every finding, plus provenance.

Formatters only read this; the exit code is computed from it too, so what the
report shows and how the command exits can never disagree.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from vecpatch.findings import Finding, severity_rank
from vecpatch.probe.facts import DatabaseFacts, Failure, ServerFacts

SCHEMA_VERSION = "1.0"


@dataclass(frozen=True)
class DatabaseReport:
    """One database: its facts (when it could be read) and its findings."""

    name: str
    facts: DatabaseFacts | None
    findings: tuple[Finding, ...]
    failure: Failure | None = None


@dataclass(frozen=True)
class TargetReport:
    """One target: server facts, server-level findings, and its databases."""

    target: str
    environment: str | None
    host: str
    port: str
    server: ServerFacts | None
    findings: tuple[Finding, ...]
    databases: tuple[DatabaseReport, ...]
    failure: Failure | None = None
    tags: tuple[str, ...] = ()

    def all_findings(self) -> Iterator[Finding]:
        yield from self.findings
        for db in self.databases:
            yield from db.findings


@dataclass(frozen=True)
class ScanReport:
    """A whole scan."""

    generated_at: datetime
    catalog_generated_at: datetime
    catalog_age_days: int
    targets: tuple[TargetReport, ...]
    run_id: str | None = None
    warnings: tuple[str, ...] = ()

    def findings(self, *, include_muted: bool = False) -> Iterator[Finding]:
        for target in self.targets:
            for finding in target.all_findings():
                if include_muted or not finding.muted:
                    yield finding

    def database_count(self) -> int:
        return sum(len(t.databases) for t in self.targets)

    def unscanned(self) -> list[Finding]:
        """Targets or databases that could not be read."""
        return [f for f in self.findings() if f.kind.is_scan_failure]


def failing(report: ScanReport, fail_on: str, fixable_only: bool = False) -> list[Finding]:
    """Findings at or above ``fail_on``; muted ones and scan failures never count here."""
    threshold = severity_rank(fail_on)
    return [
        f
        for f in report.findings()
        if f.rank >= threshold and not f.kind.is_scan_failure and (f.fixable or not fixable_only)
    ]
