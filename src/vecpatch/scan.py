"""The scan use case: targets -> probe requests -> facts -> findings -> report.

Orchestration only; the probe does the I/O and the assessment decides. The CLI, the
watcher and the workers all call :func:`run_scan` so every path gives the same answer.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from fnmatch import fnmatchcase

from vecpatch.assess import AssessOptions, assess_target
from vecpatch.catalog.ignores import IgnoreEntry
from vecpatch.catalog.model import Catalog
from vecpatch.findings import Finding
from vecpatch.probe.collect import ProbeRequest, probe_fleet_sync
from vecpatch.probe.facts import Failure, FailureKind, TargetFacts
from vecpatch.report.model import DatabaseReport, ScanReport, TargetReport
from vecpatch.targets.conninfo import ConnInfoError, resolve_conninfo
from vecpatch.targets.model import Target

Muter = Callable[[Finding], Finding]


@dataclass(frozen=True)
class ScanOptions:
    """How a scan runs and judges."""

    concurrency: int = 32
    eol_soon_days: int = 180


def probe_request(target: Target, environ: Mapping[str, str] = os.environ) -> ProbeRequest:
    """The probe request for one target; a bad secret reference becomes a CONFIG failure."""
    resolved = resolve_conninfo(target, environ)
    common = {
        "target": target.name,
        "environment": target.environment,
        "tags": tuple(target.tags),
        "databases": target.databases,
        "exclude": tuple(target.exclude_databases),
        "connect_timeout": float(target.connect_timeout),
        "statement_timeout": float(target.statement_timeout),
        "reuse_scram_keys": target.reuse_scram_keys,
        "platform": target.platform,
    }
    if isinstance(resolved, ConnInfoError):
        failure = Failure(FailureKind.CONFIG, resolved.reason)
        return ProbeRequest(conninfo="", failure=failure, **common)  # type: ignore[arg-type]
    return ProbeRequest(
        conninfo=resolved.conninfo,
        secrets=resolved.secrets,
        **common,  # type: ignore[arg-type]
    )


def target_secrets(targets: Sequence[Target], environ: Mapping[str, str] = os.environ) -> list[str]:
    """Every password the targets resolve to, for redaction wherever text is written."""
    found: list[str] = []
    for target in targets:
        resolved = resolve_conninfo(target, environ)
        if not isinstance(resolved, ConnInfoError):
            found += resolved.secrets
    return found


def probe(
    targets: Sequence[Target],
    options: ScanOptions,
    on_done: Callable[[TargetFacts], None] | None = None,
    environ: Mapping[str, str] = os.environ,
) -> list[TargetFacts]:
    """Probe every target concurrently (read-only)."""
    requests = [probe_request(t, environ) for t in targets]
    return probe_fleet_sync(requests, options.concurrency, on_done)


def assess(
    facts: Sequence[TargetFacts],
    catalog: Catalog,
    now: datetime,
    options: ScanOptions,
    mute: Muter | None = None,
) -> ScanReport:
    """Findings for every probed target, with risk acceptances applied by ``mute``."""
    opts = AssessOptions(eol_soon_days=options.eol_soon_days)
    reports = [assess_target(f, catalog, now, opts) for f in facts]
    if mute is not None:
        reports = [_muted(r, mute) for r in reports]
    age = max(0, (now - catalog.generated_at).days)
    return ScanReport(
        generated_at=now,
        catalog_generated_at=catalog.generated_at,
        catalog_age_days=age,
        targets=tuple(reports),
    )


def ignore_muter(entries: Sequence[IgnoreEntry], now: datetime) -> tuple[Muter, list[str]]:
    """A muter applying risk acceptances, and the list it fills with reopened entries.

    An entry's ``id`` matches an advisory id or alias, or a finding kind (``OUTDATED``);
    its ``target`` pattern matches ``target`` or ``target/database``.
    """
    reopened: list[str] = []
    today = now.date()

    def mute(finding: Finding) -> Finding:
        ids = {finding.kind.value, *finding.aliases} | ({finding.id} if finding.id else set())
        where = [finding.target]
        if finding.database:
            where.append(f"{finding.target}/{finding.database}")
        hits = [
            e
            for e in entries
            if e.id in ids and (e.target is None or any(fnmatchcase(w, e.target) for w in where))
        ]
        live = [e for e in hits if e.expires >= today]
        if live:
            entry = max(live, key=lambda e: e.expires)
            return replace(
                finding, muted=True, muted_reason=f"{entry.reason} (until {entry.expires})"
            )
        if hits:
            entry = max(hits, key=lambda e: e.expires)
            label = f"{finding.target}/{finding.database}" if finding.database else finding.target
            reopened.append(
                f"risk acceptance of {entry.id} for {label} expired on {entry.expires}; reopened"
            )
        return finding

    return mute, reopened


def _muted(report: TargetReport, mute: Muter) -> TargetReport:
    return replace(
        report,
        findings=tuple(mute(f) for f in report.findings),
        databases=tuple(
            DatabaseReport(db.name, db.facts, tuple(mute(f) for f in db.findings), db.failure)
            for db in report.databases
        ),
    )
