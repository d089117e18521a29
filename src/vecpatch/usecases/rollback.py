"""The rollback use case: check, then restore the backups an apply run took (CLI, drills).

Every caller comes through :func:`run_rollback`: each database is locked and checked (the
old package on disk, no writes since the backup unless they are to be discarded) before
anything is restored (:mod:`vecpatch.apply.rollback`).
"""

from __future__ import annotations

from vecpatch.apply.rollback import RollbackOptions, RollbackResult, run_rollback

__all__ = ["RollbackOptions", "RollbackResult", "run_rollback"]
