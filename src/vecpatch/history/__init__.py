"""The history store: runs, scans, findings, staging, apply, incidents and catalog dates.

Public surface re-exported here; see :class:`HistoryStore`.
"""

from vecpatch.history.engine import ENV_VAR, history_url
from vecpatch.history.records import (
    RUN_KINDS,
    ApplyStepRecord,
    FindingRecord,
    IncidentRecord,
    RolloutStateRecord,
    RunKind,
    RunRecord,
    ScanRecord,
    StageCaseRecord,
)
from vecpatch.history.store import HistoryError, HistoryStore

__all__ = [
    "ENV_VAR",
    "RUN_KINDS",
    "ApplyStepRecord",
    "FindingRecord",
    "HistoryError",
    "HistoryStore",
    "IncidentRecord",
    "RolloutStateRecord",
    "RunKind",
    "RunRecord",
    "ScanRecord",
    "StageCaseRecord",
    "history_url",
]
