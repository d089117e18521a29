"""All six metrics at once, in the shape ``vecpatch metrics --format json`` prints."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vecpatch.metrics.cadence import CadenceMetric, update_cadence
from vecpatch.metrics.coverage import CoverageMetric, staging_test_coverage
from vecpatch.metrics.data import ALL, HistoryData, Period, Scope
from vecpatch.metrics.exposure import ExposureMetric, exposure
from vecpatch.metrics.incidents import IncidentMetric, security_incidents
from vecpatch.metrics.objectives import DEFAULTS, Objectives
from vecpatch.metrics.success import SuccessMetric, production_update_success_rate
from vecpatch.metrics.windows import WindowMetric, vulnerability_window

METRIC_KEYS = (
    "update_cadence",
    "staging_test_coverage",
    "production_update_success_rate",
    "vulnerability_window",
    "security_incidents",
    "exposure",
)


@dataclass(frozen=True)
class Metrics:
    """The six metrics for one period and scope."""

    period: Period
    scope: Scope
    objectives: Objectives
    update_cadence: CadenceMetric
    staging_test_coverage: CoverageMetric
    production_update_success_rate: SuccessMetric
    vulnerability_window: WindowMetric
    security_incidents: IncidentMetric
    exposure: ExposureMetric

    def met(self) -> dict[str, bool | None]:
        return {key: getattr(self, key).met for key in METRIC_KEYS}

    def to_dict(self) -> dict[str, Any]:
        """Exactly one top-level entry per metric, each with its value(s), period, target
        and ``met`` (true, false, or null when the period holds no data to judge)."""
        out: dict[str, Any] = {}
        for key in METRIC_KEYS:
            entry = getattr(self, key).to_dict()
            entry["environment"] = self.scope.environment
            out[key] = entry
        return out


def compute_metrics(
    data: HistoryData, period: Period, objectives: Objectives = DEFAULTS, scope: Scope = ALL
) -> Metrics:
    return Metrics(
        period=period,
        scope=scope,
        objectives=objectives,
        update_cadence=update_cadence(data, period, objectives, scope),
        staging_test_coverage=staging_test_coverage(data, period, objectives, scope),
        production_update_success_rate=production_update_success_rate(
            data, period, objectives, scope
        ),
        vulnerability_window=vulnerability_window(data, period, objectives, scope),
        security_incidents=security_incidents(data, period, objectives, scope),
        exposure=exposure(data, period, objectives, scope),
    )
