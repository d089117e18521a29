"""``vecpatch stage``: the planned update rehearsed on a staging database, judged by a plan.

The test plan is data (``vecpatch/data/stage/default_plan.yaml`` plus the user's);
:func:`run_stage` measures a baseline, performs the package step and apply's checked
update, measures again, compares, runs a rollback drill and returns a
:class:`StageReport` with a verdict per case.

The names below are imported on first use, so that the light submodules (``model``,
``render``) do not pull in the runner, the sandbox and the history store.
"""

from typing import TYPE_CHECKING

from vecpatch.lazy import exports

if TYPE_CHECKING:
    from vecpatch.stage.model import CaseResult, CaseSpec, Category, StageReport, Verdict
    from vecpatch.stage.runner import StageOptions, run_stage
    from vecpatch.stage.staging import Staging, from_dsn, from_sandbox

__all__ = [
    "CaseResult",
    "CaseSpec",
    "Category",
    "StageOptions",
    "StageReport",
    "Staging",
    "Verdict",
    "from_dsn",
    "from_sandbox",
    "run_stage",
]

_SOURCES = {
    "CaseResult": "vecpatch.stage.model",
    "CaseSpec": "vecpatch.stage.model",
    "Category": "vecpatch.stage.model",
    "StageReport": "vecpatch.stage.model",
    "Verdict": "vecpatch.stage.model",
    "StageOptions": "vecpatch.stage.runner",
    "run_stage": "vecpatch.stage.runner",
    "Staging": "vecpatch.stage.staging",
    "from_dsn": "vecpatch.stage.staging",
    "from_sandbox": "vecpatch.stage.staging",
}

if not TYPE_CHECKING:  # type checkers see the imports above, and reject unknown names
    __getattr__, __dir__ = exports(__name__, globals(), _SOURCES, __all__)
