"""``vecpatch stage``: the planned update rehearsed on a staging database, judged by a plan.

The test plan is data (``vecpatch/data/stage/default_plan.yaml`` plus the user's);
:func:`run_stage` measures a baseline, performs the package step and apply's checked
update, measures again, compares, runs a rollback drill and returns a
:class:`StageReport` with a verdict per case.
"""

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
