"""The metrics in Prometheus exposition format, for ``vecpatch serve``'s ``/metrics``.

Everything is computed from the history at scrape time (the history is the source of
truth; nothing is counted in process memory, so restarts lose nothing). Names follow
Prometheus conventions: ``vecpatch_`` prefix, base units (``_seconds``, ``_ratio``),
``_total`` counters, ``_info`` gauges of value 1 whose labels carry text, and no
``quantile`` label outside a summary.

Cardinality is bounded by design: series are per advisory (and severity), per target,
or fleet-wide — never advisory × database or one per database — so a fleet of 1,000
databases exposes a few hundred series. Per-database detail is in ``/api/fleet``.
Labels never carry DSNs or secrets: only target names, versions, advisory ids and
small fixed sets of words.
"""

from __future__ import annotations

import platform
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from vecpatch import __version__
from vecpatch.catalog.model import Catalog
from vecpatch.catalog.staleness import catalog_age
from vecpatch.findings import SEVERITY_ORDER
from vecpatch.history.records import FindingRecord, ScanRecord
from vecpatch.metrics.compute import METRIC_KEYS, Metrics
from vecpatch.metrics.data import HistoryData, Period
from vecpatch.metrics.scans import ScanView, is_exposure, latest_servers, latest_views, scan_views
from vecpatch.metrics.success import production_update_success_rate

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
SEVERITIES = (*reversed(SEVERITY_ORDER[1:]), "unknown")
"""critical, high, medium, low, unknown: every severity series exists, zero or not."""


@dataclass(frozen=True)
class _Latest:
    """The latest view of every database and server, and of every target by name."""

    databases: list[tuple[str, ScanRecord, list[FindingRecord]]]
    """(target, row, the database's own findings)"""
    servers: list[tuple[str, ScanRecord, list[FindingRecord]]]
    """(target speaking for the server, its row, server-level findings)"""
    targets: dict[str, tuple[ScanView, ScanRecord]]
    """target name -> its latest scan and target-level row (reachable or not)"""


def _latest(data: HistoryData, metrics: Metrics) -> _Latest:
    views = scan_views(data, metrics.scope)
    dbs = [
        (row.target, row, view.findings.get(key, []))
        for key, (view, row) in sorted(latest_views(views).items())
    ]
    servers = [
        (view.servers[s].target, view.servers[s], view.server_findings.get(s, []))
        for s, view in sorted(latest_servers(views).items())
    ]
    targets: dict[str, tuple[ScanView, ScanRecord]] = {}
    for view in views:
        for server, row in view.servers.items():
            for target, alias_of in view.aliases.items():
                if alias_of == server:
                    targets[target] = (view, row)
    return _Latest(dbs, servers, targets)


def _severity(f: FindingRecord) -> str:
    """The advisory's own severity for VULNERABLE (a mitigated one is not "info"), else the
    finding's."""
    if f.kind == "VULNERABLE":
        advisory = f.payload.get("advisory_severity") if f.payload else None
        return str(advisory or f.severity or "unknown")
    return f.severity or "unknown"


def _findings(latest: _Latest) -> Metric:
    family = GaugeMetricFamily(
        "vecpatch_findings",
        "Unmuted findings in the latest scan of each database and server, by kind, severity, "
        "level (database or server) and whether they expose it.",
        labels=["kind", "severity", "level", "exposed"],
    )
    counts: Counter[tuple[str, str, str, str]] = Counter()
    for level, rows in (("database", latest.databases), ("server", latest.servers)):
        for _target, _row, findings in rows:
            for f in findings:
                if not f.muted:
                    counts[(f.kind, _severity(f), level, "true" if f.exposed else "false")] += 1
    for labels, n in sorted(counts.items()):
        family.add_metric(list(labels), n)
    return family


def _worst(findings: list[FindingRecord]) -> str | None:
    exposed = {_severity(f) for f in findings if is_exposure(f)}
    return next((s for s in SEVERITIES if s in exposed), None)


def _exposure(latest: _Latest) -> Iterator[Metric]:
    for level, rows in (("databases", latest.databases), ("servers", latest.servers)):
        counts = Counter(_worst(findings) for _t, _r, findings in rows)
        family = GaugeMetricFamily(
            f"vecpatch_exposed_{level}",
            f"{level.capitalize()} exposed now to a known advisory of their own, by the "
            "highest severity (a server's PostgreSQL advisories count once per server).",
            labels=["severity"],
        )
        for severity in SEVERITIES:
            family.add_metric([severity], counts.get(severity, 0))
        yield family
        yield GaugeMetricFamily(
            f"vecpatch_{level}", f"{level.capitalize()} known from the latest scans.", len(rows)
        )


def _advisories(latest: _Latest, metrics: Metrics) -> Iterator[Metric]:
    """Per advisory: where it applies and where it is exposed, by level; its longest open
    window."""
    affected = GaugeMetricFamily(
        "vecpatch_advisory_affected",
        "Databases or servers running a version an advisory affects (exposed or mitigated).",
        labels=["advisory", "severity", "level"],
    )
    exposed = GaugeMetricFamily(
        "vecpatch_advisory_exposed",
        "Databases or servers exposed to an advisory now (affected, not mitigated, not muted).",
        labels=["advisory", "severity", "level"],
    )
    counts: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0])
    for level, rows in (("database", latest.databases), ("server", latest.servers)):
        for _target, _row, findings in rows:
            for f in findings:
                if f.kind == "VULNERABLE" and f.affected and f.advisory_id and not f.muted:
                    entry = counts[(f.advisory_id, _severity(f), level)]
                    entry[0] += 1
                    entry[1] += 1 if f.exposed else 0
    for labels, (n_affected, n_exposed) in sorted(counts.items()):
        affected.add_metric(list(labels), n_affected)
        exposed.add_metric(list(labels), n_exposed)
    yield affected
    yield exposed
    longest = GaugeMetricFamily(
        "vecpatch_advisory_open_window_max_seconds",
        "Per advisory, the longest vulnerability window still open (fix available -> now).",
        labels=["advisory", "severity"],
    )
    worst: dict[tuple[str, str], float] = {}
    open_by_severity: Counter[str] = Counter()
    for w in metrics.vulnerability_window.windows:
        if w.is_open:
            key = (w.advisory_id, w.severity or "unknown")
            worst[key] = max(worst.get(key, 0.0), w.seconds)
            open_by_severity[w.severity or "unknown"] += 1
    for (advisory, severity), seconds in sorted(worst.items()):
        longest.add_metric([advisory, severity], seconds)
    yield longest
    windows = GaugeMetricFamily(
        "vecpatch_open_vulnerability_windows",
        "Vulnerability windows still open (one per advisory and database, or per advisory "
        "and server for PostgreSQL advisories), by severity.",
        labels=["severity"],
    )
    for severity in SEVERITIES:
        windows.add_metric([severity], open_by_severity.get(severity, 0))
    yield windows


def _targets(latest: _Latest) -> Iterator[Metric]:
    """Per target: up, why not, when and how long its latest scan, its databases."""
    up = GaugeMetricFamily(
        "vecpatch_target_up",
        "1 when the latest scan of the target reached its server, 0 when it could not.",
        labels=["target", "environment"],
    )
    down = GaugeMetricFamily(
        "vecpatch_target_down_info",
        "Why a target's latest scan could not reach it (auth, unreachable, privilege, config).",
        labels=["target", "reason"],
    )
    when = GaugeMetricFamily(
        "vecpatch_target_last_scan_timestamp_seconds",
        "When the latest scan of the target started (Unix time).",
        labels=["target"],
    )
    took = GaugeMetricFamily(
        "vecpatch_target_scan_duration_seconds",
        "How long the latest scan took to probe the target (all its databases).",
        labels=["target"],
    )
    for target, (view, row) in sorted(latest.targets.items()):
        up.add_metric([target, row.environment or ""], 1 if row.reachable else 0)
        if not row.reachable:
            reason = str(row.facts.get("failure_kind") or "unknown").lower()
            down.add_metric([target, reason], 1)
        when.add_metric([target], view.at.timestamp())
        duration = row.facts.get("duration_seconds") if row.facts else None
        if isinstance(duration, int | float):
            took.add_metric([target], float(duration))
    yield from (up, down, when, took)


def _pgvector(latest: _Latest) -> Metric:
    family = GaugeMetricFamily(
        "vecpatch_pgvector_databases",
        'Databases per target by pgvector version installed ("none": not installed) and '
        'the version on disk ("none": no package).',
        labels=["target", "installed", "on_disk"],
    )
    counts = Counter(
        (target, row.pgvector_installed or "none", row.pgvector_default or "none")
        for target, row, _f in latest.databases
    )
    for labels, n in sorted(counts.items()):
        family.add_metric(list(labels), n)
    return family


def _cadence(metrics: Metrics) -> Metric:
    family = GaugeMetricFamily(
        "vecpatch_update_cadence_seconds",
        "Release -> applied in production, by update class (security/other) and statistic "
        "(median, p90, max) over the period.",
        labels=["class", "stat"],
    )
    value = metrics.update_cadence.to_dict()["value"]
    for cls in ("security", "other"):
        for stat in ("median", "p90", "max"):
            if value[cls][stat] is not None:
                family.add_metric([cls, stat], float(value[cls][stat]))
    return family


def _ratios(data: HistoryData, metrics: Metrics) -> Iterator[Metric]:
    success = metrics.production_update_success_rate
    if success.ratio is not None:
        yield GaugeMetricFamily(
            "vecpatch_update_success_ratio",
            "Production updates that succeeded without rollback or incident / all attempts "
            "in the period.",
            value=success.ratio,
        )
    ever = production_update_success_rate(
        data, Period(until=metrics.period.until), metrics.objectives, metrics.scope
    )
    attempts = CounterMetricFamily(
        "vecpatch_update_attempts",
        "Production update attempts in the whole history, by result.",
        labels=["result"],
    )
    attempts.add_metric(["succeeded"], ever.succeeded)
    attempts.add_metric(["failed"], len(ever.attempts) - ever.succeeded)
    yield attempts
    coverage = metrics.staging_test_coverage.to_dict()["value"]["min"]
    if coverage is not None:
        yield GaugeMetricFamily(
            "vecpatch_staging_test_coverage_ratio",
            "Lowest share of critical staging cases passed before a production apply.",
            value=coverage,
        )
    yield GaugeMetricFamily(
        "vecpatch_security_incidents",
        "Incidents attributed to known advisories opened in the period.",
        value=len(metrics.security_incidents.attributed),
    )


def _objectives(metrics: Metrics) -> Metric:
    family = GaugeMetricFamily(
        "vecpatch_objective_met",
        "1 when the metric meets its target, 0 when it misses (absent: no data).",
        labels=["metric"],
    )
    for key, met in metrics.met().items():
        if met is not None:
            family.add_metric([key], 1.0 if met else 0.0)
    return family


def _about(data: HistoryData, catalog: Catalog | None, now: datetime) -> Iterator[Metric]:
    info = GaugeMetricFamily(
        "vecpatch_build_info",
        "The vecpatch serving these metrics (value 1).",
        labels=["version", "python"],
    )
    info.add_metric([__version__, platform.python_version()], 1)
    yield info
    if catalog is not None:
        yield GaugeMetricFamily(
            "vecpatch_catalog_age_seconds",
            "Age of the advisory catalog this server judges with (its newest data -> now).",
            value=catalog_age(catalog, now).total_seconds(),
        )
    scans = data.runs_of("scan")
    if scans:
        yield GaugeMetricFamily(
            "vecpatch_last_scan_timestamp_seconds",
            "When the most recent scan started (Unix time).",
            value=scans[-1].started_at.timestamp(),
        )


class HistoryCollector(Collector):
    """Yields every vecpatch series from one computed snapshot."""

    def __init__(self, data: HistoryData, metrics: Metrics, catalog: Catalog | None) -> None:
        self.data = data
        self.metrics = metrics
        self.catalog = catalog

    def collect(self) -> Iterator[Metric]:
        latest = _latest(self.data, self.metrics)
        yield from _about(self.data, self.catalog, self.metrics.period.until)
        yield from _targets(latest)
        yield _pgvector(latest)
        yield _findings(latest)
        yield from _exposure(latest)
        yield from _advisories(latest, self.metrics)
        yield _cadence(self.metrics)
        yield from _ratios(self.data, self.metrics)
        yield _objectives(self.metrics)


def exposition(data: HistoryData, metrics: Metrics, catalog: Catalog | None = None) -> bytes:
    """The text a Prometheus server scrapes."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(HistoryCollector(data, metrics, catalog))
    return generate_latest(registry)


__all__ = ["CONTENT_TYPE", "METRIC_KEYS", "HistoryCollector", "exposition"]
