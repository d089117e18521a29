"""The one thing a rollout needs from ``apply``: update this target to this version.

A small protocol keeps the rollout engine (waves, gates, bake, halts, resume) testable
and independent of how a target is changed; :class:`ApplyApplier` is the real one and
runs the whole ``vecpatch apply`` per target (preflight, backup, checked update,
post-commit checks, evidence, history), so a rollout is exactly N applies in order.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Protocol

from vecpatch.apply import ApplyOptions, Outcome
from vecpatch.catalog.model import Catalog
from vecpatch.history.store import HistoryStore
from vecpatch.targets.model import Target
from vecpatch.usecases.apply import run_apply

_OK = frozenset({Outcome.APPLIED.value, Outcome.NOTHING.value})


@dataclass(frozen=True)
class TargetOutcome:
    """How one target's apply ended, as the rollout records and gates on it."""

    target: str
    outcome: str
    run_id: str | None = None
    reasons: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Applied (post-commit checks included) or nothing to do."""
        return self.outcome in _OK


class Applier(Protocol):
    """Update ``target`` to ``version``; never raises for a database problem."""

    def __call__(self, target: Target, version: str) -> TargetOutcome: ...


class _Silent:
    """apply's Ui for unattended runs: confirmation comes from ``rollout --yes``."""

    def info(self, message: str) -> None:
        pass

    def confirm(self, target: str, summary: str) -> bool:
        return False


@dataclass
class ApplyApplier:
    """Runs ``vecpatch apply`` on one target (``yes`` implied: the rollout was confirmed)."""

    options: ApplyOptions
    catalog: Catalog
    store: HistoryStore | None
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))

    def __call__(self, target: Target, version: str) -> TargetOutcome:
        opts = replace(self.options, to=version, yes=True, dry_run=False)
        result = run_apply([target], opts, self.catalog, self.store, _Silent(), self.environ)
        reasons = tuple(
            f"{d.database}: {r}" for d in result.databases for r in d.reasons if d.outcome.value
        )
        return TargetOutcome(target.name, result.outcome.value, result.run_id, reasons)
