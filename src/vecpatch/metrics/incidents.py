"""Security incidents attributed to known advisories, opened in the period.

An incident is attributed when it names an advisory (``vecpatch incident add
--advisory ID``). Incidents that ``apply`` opens for failed updates are counted
alongside (they feed the success rate) but are not security incidents unless they
name an advisory.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from vecpatch.history.records import IncidentRecord
from vecpatch.metrics.data import ALL, HistoryData, Period, Scope
from vecpatch.metrics.objectives import Objectives


def incident_dict(i: IncidentRecord) -> dict[str, Any]:
    return {
        "id": i.id,
        "opened_at": i.opened_at.isoformat(),
        "closed_at": i.closed_at.isoformat() if i.closed_at else None,
        "title": i.title,
        "source": i.source,
        "advisory_id": i.advisory_id,
        "target": i.target,
        "database": i.database,
        "cause": i.cause,
        "run_id": i.run_id,
    }


@dataclass(frozen=True)
class IncidentMetric:
    incidents: tuple[IncidentRecord, ...]
    period: Period
    allowed: int

    @property
    def attributed(self) -> list[IncidentRecord]:
        return [i for i in self.incidents if i.advisory_id]

    @property
    def met(self) -> bool:
        return len(self.attributed) <= self.allowed

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": len(self.attributed),
            "unit": "incidents",
            "open": sum(1 for i in self.attributed if i.closed_at is None),
            "all_incidents": len(self.incidents),
            "by_source": dict(Counter(i.source for i in self.incidents)),
            "by_advisory": dict(Counter(i.advisory_id for i in self.attributed)),
            "period": self.period.to_dict(),
            "target": {"max": self.allowed},
            "met": self.met,
            "incidents": [incident_dict(i) for i in self.incidents],
        }


def security_incidents(
    data: HistoryData, period: Period, objectives: Objectives, scope: Scope = ALL
) -> IncidentMetric:
    environments = data.target_environments()
    kept = [
        i
        for i in data.incidents
        if period.contains(i.opened_at)
        and (i.target is None or scope.includes(i.target, environments))
    ]
    return IncidentMetric(tuple(kept), period, objectives.max_security_incidents)
