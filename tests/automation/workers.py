"""Start `vecpatch worker --burst` processes against a real queue and wait for them."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping


def drain(
    queue: str,
    history: str,
    env: Mapping[str, str],
    *,
    workers: int = 2,
    extra: tuple[str, ...] = (),
    timeout: float = 300,
) -> tuple[list[int], list[str]]:
    """Run ``workers`` burst workers until the queue is empty; their exit codes and output."""
    cmd = [sys.executable, "-m", "vecpatch", "worker", "--queue-dsn", queue, "--history",
           history, "--burst", *extra]  # fmt: skip
    procs = [
        subprocess.Popen(
            [*cmd, "--name", f"w{i}"],
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for i in range(workers)
    ]
    try:
        outputs = [p.communicate(timeout=timeout)[0] for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    return [p.returncode for p in procs], outputs
