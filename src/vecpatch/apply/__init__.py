"""``vecpatch apply`` and ``vecpatch rollback``: the only code that writes to a target.

The public surface is :func:`run_apply`, :func:`run_rollback` and their option and
result types; the submodules are the steps (gate, lock, preflight, backup, update,
smoke checks, post-commit, soak, evidence), each small enough to read on its own.
"""

from vecpatch.apply.model import ApplyOptions, ApplyResult, BackupKind, Outcome
from vecpatch.apply.runner import run_apply

__all__ = [
    "ApplyOptions",
    "ApplyResult",
    "BackupKind",
    "Outcome",
    "run_apply",
]
