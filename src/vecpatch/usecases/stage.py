"""The stage use case: rehearse the planned update on staging, judge it, record it.

``vecpatch stage``, a worker's queued stage job and ``vecpatch demo`` all call
:func:`run_stage`, so the three cannot drift apart: the same catalog load, the same
history record (the stage gate reads it), the same clean-up of a clone sandbox.
"""

from __future__ import annotations

from collections.abc import Callable

from vecpatch.catalog.model import Catalog
from vecpatch.stage.model import StageReport
from vecpatch.stage.runner import StageOptions
from vecpatch.stage.staging import Staging
from vecpatch.targets import Target

Progress = Callable[[str], None]


def clone_staging(target: Target, run_id: str, sample_rows: int, progress: Progress) -> Staging:
    """A sandbox clone of ``target``: its schema and a sample of each vector table."""
    from vecpatch.stage.clone import clone_from

    name = f"stage-clone-{run_id}"
    progress(
        f"cloning {target.name} into sandbox {name} (at most {sample_rows} rows per vector table)"
    )
    return clone_from(target, run_id, name, sample_rows)


def run_stage(
    staging: Staging,
    opts: StageOptions,
    history: str | None,
    progress: Progress = lambda _m: None,
    *,
    keep_clone: bool = False,
    catalog: Catalog | None = None,
) -> StageReport:
    """Stage on ``staging``, recorded in ``history``; a clone is destroyed unless kept."""
    from vecpatch.catalog.store import load_catalog
    from vecpatch.history.store import HistoryStore
    from vecpatch.stage.runner import run_stage as stage_on

    try:
        with HistoryStore.open(history, secrets=staging.endpoint.secrets) as store:
            return stage_on(staging, opts, catalog or load_catalog(offline=True), store, progress)
    finally:
        if staging.kind == "clone" and staging.sandbox is not None and not keep_clone:
            staging.sandbox.destroy()
