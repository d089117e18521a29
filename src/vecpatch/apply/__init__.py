"""``vecpatch apply`` and ``vecpatch rollback``: the only code that writes to a target.

The public surface is :func:`run_apply`, :func:`run_rollback` and their option and
result types; the submodules are the steps (gate, lock, preflight, backup, update,
smoke checks, post-commit, soak, evidence), each small enough to read on its own.

The names below are imported on first use, so that ``vecpatch.apply.model`` (the option
types the CLI needs to parse its arguments) does not pull in the runner and its history
store.
"""

from typing import TYPE_CHECKING

from vecpatch.lazy import exports

if TYPE_CHECKING:
    from vecpatch.apply.model import ApplyOptions, ApplyResult, BackupKind, Outcome
    from vecpatch.apply.runner import run_apply

__all__ = [
    "ApplyOptions",
    "ApplyResult",
    "BackupKind",
    "Outcome",
    "run_apply",
]

_SOURCES = {
    "ApplyOptions": "vecpatch.apply.model",
    "ApplyResult": "vecpatch.apply.model",
    "BackupKind": "vecpatch.apply.model",
    "Outcome": "vecpatch.apply.model",
    "run_apply": "vecpatch.apply.runner",
}

if not TYPE_CHECKING:  # type checkers see the imports above, and reject unknown names
    __getattr__, __dir__ = exports(__name__, globals(), _SOURCES, __all__)
