"""The metrics in Prometheus exposition format, for ``vecpatch serve``'s ``/metrics``.

Everything is a gauge computed from the history at scrape time (the history is the
source of truth; nothing is counted in process memory, so restarts lose nothing).
Names follow Prometheus conventions: ``vecpatch_`` prefix, base units (``_seconds``,
``_ratio``), ``_info`` gauges of value 1 whose labels carry text. Labels never carry
DSNs or secrets: only target names, database names, versions, advisory ids.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from vecpatch.history.records import FindingRecord
from vecpatch.metrics.compute import METRIC_KEYS, Metrics
from vecpatch.metrics.data import HistoryData
from vecpatch.metrics.exposure import FleetRow
from vecpatch.metrics.scans import latest_views, scan_views

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _extension_info(rows: Iterable[FleetRow]) -> Metric:
    info = GaugeMetricFamily(
        "vecpatch_extension_info",
        "pgvector in each database at its latest scan (installed and default/on-disk versions).",
        labels=["target", "database", "environment", "installed", "default", "pg_version"],
    )
    for r in rows:
        labels = [r.target, r.database, r.environment or "", r.installed or "", r.on_disk or ""]
        info.add_metric([*labels, r.pg_version or ""], 1)
    return info


def _latest_findings(data: HistoryData, metrics: Metrics) -> list[FindingRecord]:
    latest = latest_views(scan_views(data, metrics.scope))
    seen: set[tuple[str, int]] = set()
    out: list[FindingRecord] = []
    for key, (view, _row) in latest.items():
        for f in view.findings.get(key, []):
            # a server-level finding is spread to each database; count it once per scan
            marker = (view.run.id, id(f))
            if f.database is None and marker in seen:
                continue
            seen.add(marker)
            out.append(f)
    return out


def _findings(data: HistoryData, metrics: Metrics) -> Metric:
    family = GaugeMetricFamily(
        "vecpatch_findings",
        "Findings in the latest scan of each database, by kind and severity (muted excluded).",
        labels=["kind", "severity"],
    )
    counts = Counter(
        (f.kind, f.severity or "unknown") for f in _latest_findings(data, metrics) if not f.muted
    )
    for (kind, severity), n in sorted(counts.items()):
        family.add_metric([kind, severity], n)
    return family


def _exposure(metrics: Metrics) -> Iterator[Metric]:
    exposed = GaugeMetricFamily(
        "vecpatch_exposed_databases",
        "Databases exposed to a known advisory now, by the highest severity.",
        labels=["severity"],
    )
    for severity in ("critical", "high", "medium", "low", "unknown"):
        exposed.add_metric([severity], metrics.exposure.by_severity().get(severity, 0))
    yield exposed
    yield GaugeMetricFamily(
        "vecpatch_databases",
        "Databases known from the latest scans.",
        value=len(metrics.exposure.rows),
    )


def _windows(metrics: Metrics) -> Iterator[Metric]:
    family = GaugeMetricFamily(
        "vecpatch_vulnerability_window_seconds",
        "Fix available -> fixed in production, per advisory and database (open: up to now).",
        labels=["target", "database", "advisory", "severity", "state"],
    )
    for w in metrics.vulnerability_window.windows:
        state = "open" if w.is_open else "closed"
        family.add_metric([w.target, w.database, w.advisory_id, w.severity or "", state], w.seconds)
    yield family
    yield GaugeMetricFamily(
        "vecpatch_open_vulnerability_windows",
        "Vulnerability windows still open.",
        value=sum(1 for w in metrics.vulnerability_window.windows if w.is_open),
    )


def _cadence(metrics: Metrics) -> Metric:
    family = GaugeMetricFamily(
        "vecpatch_update_cadence_seconds",
        "Release -> applied in production, by update class (security/other) and quantile.",
        labels=["class", "quantile"],
    )
    value = metrics.update_cadence.to_dict()["value"]
    for cls in ("security", "other"):
        for label, key in (("0.5", "median"), ("0.9", "p90"), ("1", "max")):
            if value[cls][key] is not None:
                family.add_metric([cls, label], float(value[cls][key]))
    return family


def _ratios(metrics: Metrics) -> Iterator[Metric]:
    success = metrics.production_update_success_rate
    if success.ratio is not None:
        yield GaugeMetricFamily(
            "vecpatch_update_success_ratio",
            "Production updates that succeeded without rollback or incident / all attempts.",
            value=success.ratio,
        )
    attempts = GaugeMetricFamily(
        "vecpatch_update_attempts", "Production update attempts in the period.", labels=["result"]
    )
    attempts.add_metric(["succeeded"], success.succeeded)
    attempts.add_metric(["failed"], len(success.attempts) - success.succeeded)
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


class HistoryCollector(Collector):
    """Yields every vecpatch gauge from one computed snapshot."""

    def __init__(self, data: HistoryData, metrics: Metrics) -> None:
        self.data = data
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        yield _extension_info(self.metrics.exposure.rows)
        yield _findings(self.data, self.metrics)
        yield from _exposure(self.metrics)
        yield from _windows(self.metrics)
        yield _cadence(self.metrics)
        yield from _ratios(self.metrics)
        yield _objectives(self.metrics)
        scans = self.data.runs_of("scan")
        if scans:
            yield GaugeMetricFamily(
                "vecpatch_last_scan_timestamp_seconds",
                "When the most recent scan started (Unix time).",
                value=scans[-1].started_at.timestamp(),
            )


def exposition(data: HistoryData, metrics: Metrics) -> bytes:
    """The text a Prometheus server scrapes."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(HistoryCollector(data, metrics))
    return generate_latest(registry)


__all__ = ["CONTENT_TYPE", "METRIC_KEYS", "HistoryCollector", "exposition"]
