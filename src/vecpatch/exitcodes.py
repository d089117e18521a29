"""Documented process exit codes, shared by every command.

They are part of the public interface (CI jobs branch on them), so they live in
one place and the README table is checked against this module.
"""

from enum import IntEnum


class ExitCode(IntEnum):
    """Exit statuses of the ``vecpatch`` command."""

    OK = 0
    """Nothing at or above the threshold; the command did what was asked."""
    FINDINGS = 1
    """Findings at/above ``--fail-on``; or a refused/failed change with the database unchanged."""
    USAGE = 2
    """Bad input or configuration: nothing was changed."""
    UNSCANNED = 3
    """Some targets could not be scanned and ``--strict`` was given."""
    POST_COMMIT = 4
    """A change was applied but a post-commit step failed or was cut short (also: interrupted
    after COMMIT); the output names the run id and the state of each database."""
    RESTORE_UNVERIFIED = 5
    """``rollback`` restored data but the restored database did not verify."""
    INTERRUPTED = 130
    """Interrupted (SIGINT/SIGTERM) before any COMMIT: every database is unchanged."""
