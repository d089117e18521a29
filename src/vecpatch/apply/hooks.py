"""Operator hook commands (package install, PostgreSQL minor, backup, pool reconnect).

Hooks are shell commands from the targets file or an option, with ``{placeholders}``
filled from the plan. Their exit status decides; their output is kept (redacted, tail
only) for the evidence. The database password reaches them only as ``PGPASSWORD``.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass

from vecpatch.redact import redact_text

HOOK_TIMEOUT = 3600.0


@dataclass(frozen=True)
class HookResult:
    """What a hook did."""

    command: str
    returncode: int
    output: str
    duration: float

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def run_hook(
    command: str,
    env: Mapping[str, str] | None = None,
    secrets: tuple[str, ...] = (),
    timeout: float = HOOK_TIMEOUT,
) -> HookResult:
    """Run one hook through the shell; never raises for a failing command."""
    start = time.monotonic()
    try:
        proc = subprocess.run(
            command,
            shell=True,
            env=dict(env) if env is not None else None,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        code, text = proc.returncode, (proc.stdout or "") + (proc.stderr or "")
    except subprocess.TimeoutExpired:
        code, text = 124, f"timed out after {timeout:.0f} s"
    except OSError as exc:
        code, text = 127, str(exc)
    tail = "\n".join(text.strip().splitlines()[-20:])
    return HookResult(
        redact_text(command, secrets), code, redact_text(tail, secrets), time.monotonic() - start
    )
