"""The seed's five metrics (plus current exposure), as pure functions over the history.

``load_history`` reads the store once; ``compute_metrics`` (or each metric's own
function) computes from that plain data. Formulas: ``docs/metrics.md``.
"""

from vecpatch.metrics.compute import METRIC_KEYS, Metrics, compute_metrics
from vecpatch.metrics.data import HistoryData, Period, Scope, parse_since
from vecpatch.metrics.load import load_history
from vecpatch.metrics.objectives import Objectives

__all__ = [
    "METRIC_KEYS",
    "HistoryData",
    "Metrics",
    "Objectives",
    "Period",
    "Scope",
    "compute_metrics",
    "load_history",
    "parse_since",
]
