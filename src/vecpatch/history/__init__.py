"""The history store: runs, scans, findings, staging, apply, incidents and catalog dates.

Public surface re-exported here; see :class:`HistoryStore`. The names are imported on
first use, so that the plain records (``vecpatch.history.records``) do not pull in
SQLAlchemy.
"""

from typing import TYPE_CHECKING

from vecpatch.lazy import exports

if TYPE_CHECKING:
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

_SOURCES = {
    "ENV_VAR": "vecpatch.history.engine",
    "history_url": "vecpatch.history.engine",
    "RUN_KINDS": "vecpatch.history.records",
    "ApplyStepRecord": "vecpatch.history.records",
    "FindingRecord": "vecpatch.history.records",
    "IncidentRecord": "vecpatch.history.records",
    "RolloutStateRecord": "vecpatch.history.records",
    "RunKind": "vecpatch.history.records",
    "RunRecord": "vecpatch.history.records",
    "ScanRecord": "vecpatch.history.records",
    "StageCaseRecord": "vecpatch.history.records",
    "HistoryError": "vecpatch.history.store",
    "HistoryStore": "vecpatch.history.store",
}

if not TYPE_CHECKING:  # type checkers see the imports above, and reject unknown names
    __getattr__, __dir__ = exports(__name__, globals(), _SOURCES, __all__)
