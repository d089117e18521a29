"""Drive a real ``vecpatch apply`` process, stop it at a phase, and read what it left.

The process pauses at a phase through the ``VECPATCH_TEST_PAUSE_AT`` seam and writes a
marker file; the test then sends the signal, so every case hits the same point each run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vecpatch.apply.interrupt import PAUSE_ENV, PAUSE_FILE_ENV
from vecpatch.history.store import HistoryStore
from vecpatch.sandbox import Sandbox

from ..apply.helpers import extversion, fingerprint

__all__ = ["Run", "apply_process", "db_state", "extversion", "fingerprint", "history_run"]


@dataclass
class Run:
    """A finished ``vecpatch apply`` process."""

    code: int
    stdout: str
    stderr: str

    def doc(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.stdout)
        return parsed


def _args(sb: Sandbox, tmp: Path, extra: tuple[str, ...]) -> list[str]:
    args = [sys.executable, "-m", "vecpatch", "apply", sb.dsn(), "--yes", "--to", "0.8.5"]
    args += ["--pg-bin", str(sb.bin_dir), "--evidence-dir", str(tmp / "evidence")]
    args += ["--backup-dir", str(tmp / "backups"), "--history", f"sqlite:///{tmp / 'h.db'}"]
    return [*args, "--format", "json", *extra]


def apply_process(
    sb: Sandbox,
    tmp: Path,
    *extra: str,
    pause_at: str | None = None,
    send: signal.Signals = signal.SIGINT,
) -> Run:
    """Run apply; with ``pause_at``, send ``send`` once it is paused there."""
    marker = tmp / f"paused-{pause_at}"
    marker.unlink(missing_ok=True)
    env = {**os.environ, "VECPATCH_TARGETS": "", "VECPATCH_HISTORY": ""}
    if pause_at:
        env |= {PAUSE_ENV: pause_at, PAUSE_FILE_ENV: str(marker)}
    proc = subprocess.Popen(
        _args(sb, tmp, extra), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    if pause_at:
        deadline = time.monotonic() + 120
        while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists(), f"apply never reached {pause_at}: {proc.communicate()}"
        proc.send_signal(send)
    out, err = proc.communicate(timeout=180)
    return Run(proc.returncode, out, err)


def history_run(tmp: Path, run_id: str) -> tuple[str, list[tuple[str, str]]]:
    """The run's recorded status and its steps (name, outcome)."""
    with HistoryStore.open(f"sqlite:///{tmp / 'h.db'}") as store:
        run = store.get_run(run_id)
        assert run is not None
        steps = [(s.step, s.outcome) for s in store.apply_steps(run_id)]
        return run.status, steps


def db_state(sb: Sandbox) -> tuple[Any, ...]:
    """The database fingerprint: extversion, and row count + checksum of each vector column."""
    return (extversion(sb), *fingerprint(sb))


def vecpatch_process(tmp: Path, *args: str) -> Run:
    """Any ``vecpatch`` command in its own process, with the run's history store."""
    env = {**os.environ, "VECPATCH_TARGETS": "", "VECPATCH_HISTORY": f"sqlite:///{tmp / 'h.db'}"}
    proc = subprocess.run(
        [sys.executable, "-m", "vecpatch", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)
