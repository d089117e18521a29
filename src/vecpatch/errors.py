"""The root of vecpatch's own error hierarchy.

Core code raises these; only the CLI turns them into a message and an exit code.
"""

from vecpatch.exitcodes import ExitCode


class VecpatchError(Exception):
    """A failure with a message fit for the user and a documented exit code."""

    exit_code: ExitCode = ExitCode.FINDINGS

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(VecpatchError):
    """Input or configuration that cannot be acted on; nothing was changed."""

    exit_code = ExitCode.USAGE
