"""Plain, frozen records that go into and come out of the history store.

They deliberately do not depend on the scan, stage or apply models (those are
richer and change faster): callers copy the few typed columns across and pass
the rest as a JSON-able mapping (``facts``, ``payload``, ``detail``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

RunKind = Literal["scan", "stage", "apply", "rollback", "rollout", "watch"]
RUN_KINDS: tuple[RunKind, ...] = ("scan", "stage", "apply", "rollback", "rollout", "watch")
FirstSeenKind = Literal["release", "advisory"]
IncidentSource = Literal["manual", "apply"]


def _no_payload() -> Mapping[str, Any]:
    return {}


@dataclass(frozen=True, kw_only=True)
class RunRecord:
    """One invocation of a vecpatch operation; every other record hangs off one."""

    id: str
    kind: RunKind
    status: str
    started_at: datetime
    finished_at: datetime | None = None
    environment: str | None = None
    summary: Mapping[str, Any] | None = None
    vecpatch_version: str = ""


@dataclass(frozen=True, kw_only=True)
class ScanRecord:
    """What a scan saw in one database (or why it could not see it)."""

    run_id: str
    target: str
    database: str | None
    reachable: bool
    environment: str | None = None
    reason: str | None = None
    pg_version: str | None = None
    pgvector_installed: str | None = None
    pgvector_default: str | None = None
    facts: Mapping[str, Any] = field(default_factory=_no_payload)
    recorded_at: datetime | None = None
    """Set by the store when None."""
    server_id: str | None = None
    """The server's stable identity (see ``probe.identity``): targets that are aliases of one
    server share it. None in history written before it was recorded."""

    @property
    def server(self) -> str:
        """The key the metrics group by: the identity, else the target's name."""
        return self.server_id or self.target


@dataclass(frozen=True, kw_only=True)
class FindingRecord:
    """One finding (vulnerable version, pending update, …) in one database."""

    run_id: str
    target: str
    database: str | None
    kind: str
    advisory_id: str | None = None
    severity: str | None = None
    affected: bool = False
    exposed: bool = False
    fix_version: str | None = None
    fix_available_at: datetime | None = None
    installed_version: str | None = None
    muted: bool = False
    payload: Mapping[str, Any] = field(default_factory=_no_payload)
    recorded_at: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class StageCaseRecord:
    """The verdict of one staging test case."""

    run_id: str
    case_id: str
    category: str
    critical: bool
    verdict: str
    duration: float | None = None
    """Seconds."""
    detail: Mapping[str, Any] = field(default_factory=_no_payload)
    recorded_at: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class ApplyStepRecord:
    """One step of an apply (backup, lock, ALTER, verify…) and how it went."""

    run_id: str
    target: str
    step: str
    outcome: str
    database: str | None = None
    started_at: datetime | None = None
    duration: float | None = None
    detail: Mapping[str, Any] = field(default_factory=_no_payload)


@dataclass(frozen=True, kw_only=True)
class IncidentRecord:
    """A production problem attributed (or not) to patching."""

    id: str
    opened_at: datetime
    title: str
    source: IncidentSource
    closed_at: datetime | None = None
    advisory_id: str | None = None
    target: str | None = None
    database: str | None = None
    cause: str | None = None
    run_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class RolloutStateRecord:
    """Where one database stands in a rollout."""

    rollout_id: str
    target: str
    state: str
    database: str = ""
    wave: int | None = None
    updated_at: datetime | None = None
    detail: Mapping[str, Any] = field(default_factory=_no_payload)
