"""The apply use case: settle what a dead process left, then apply (CLI, workers, rollout).

Everything that calls an apply comes through :func:`run_apply`, so every caller gets the
same behaviour: a run left ``running`` by a process that is gone is closed first (its
databases re-read), then the run itself goes probe -> plan -> preflight (lock held) ->
confirm -> operator steps -> backup -> update -> verify -> after-care -> history ->
evidence (:mod:`vecpatch.apply.runner`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime

from vecpatch.apply.abandoned import settle
from vecpatch.apply.interrupt import Interrupt
from vecpatch.apply.model import ApplyOptions, ApplyResult, Ui
from vecpatch.apply.recycle import RecycleResult, recycle_stale
from vecpatch.apply.runner import run_apply as _apply
from vecpatch.catalog.model import Catalog
from vecpatch.history.store import HistoryStore
from vecpatch.targets import Target

__all__ = ["RecycleResult", "recycle_stale", "run_apply", "settle_abandoned"]


def settle_abandoned(
    store: HistoryStore | None, targets: list[Target], environ: Mapping[str, str] = os.environ
) -> list[str]:
    """Close the apply runs left ``running`` by processes that are gone; one line each.

    Never raises: a history store that cannot be read is reported as a line.
    """
    if store is None:
        return []
    try:
        return settle(store, targets, environ)
    except Exception as exc:  # settling is a courtesy to the last run, never a blocker
        return [f"could not check for abandoned runs: {type(exc).__name__}: {exc}"]


def run_apply(
    targets: list[Target],
    opts: ApplyOptions,
    catalog: Catalog,
    store: HistoryStore | None,
    ui: Ui,
    environ: Mapping[str, str] = os.environ,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    interrupt: Interrupt | None = None,
) -> ApplyResult:
    """Settle abandoned runs, then apply; never raises for a database problem."""
    settled = settle_abandoned(store, targets, environ)
    for line in settled:
        ui.info(line)
    result = _apply(targets, opts, catalog, store, ui, environ, now, interrupt)
    return replace(result, notes=(*settled, *result.notes)) if settled else result
