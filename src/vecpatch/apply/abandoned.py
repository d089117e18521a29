"""Runs left ``running`` by a process that is gone (SIGKILL, power loss): found and settled.

Each apply records which process runs it (host, pid, the process's start time, so a reused
pid is not mistaken for it). The next apply, or ``apply --recycle-stale``, looks for apply
runs still ``running`` whose process is gone, reads ``extversion`` again in each database
the run had locked, and closes the run as ``interrupted`` saying what it found. A run
from another host is left alone: its process cannot be checked from here.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import psycopg

from vecpatch.apply.backup import extversion
from vecpatch.apply.session import Endpoint, error_text
from vecpatch.history.records import ApplyStepRecord, RunRecord
from vecpatch.history.store import HistoryStore
from vecpatch.targets import ConnInfoError, Target, resolve_conninfo

PROCESS_STEP = "process"


def _start_ticks(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux), or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else None


def identity() -> dict[str, Any]:
    """This process, as a later run can recognise it."""
    pid = os.getpid()
    return {"pid": pid, "host": socket.gethostname(), "start": _start_ticks(pid)}


def is_gone(recorded: Mapping[str, Any]) -> bool | None:
    """True: the recorded process no longer runs; False: it does; None: cannot tell."""
    if recorded.get("host") != socket.gethostname() or not isinstance(recorded.get("pid"), int):
        return None
    pid = int(recorded["pid"])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass
    start = recorded.get("start")
    return start is not None and _start_ticks(pid) not in (None, start)


def settle(
    store: HistoryStore, targets: Sequence[Target], environ: Mapping[str, str] = os.environ
) -> list[str]:
    """Close every abandoned apply run; return one line per run settled."""
    by_name = {t.name: t for t in targets}
    lines: list[str] = []
    for run in store.runs("apply"):
        if run.status != "running":
            continue
        steps = store.apply_steps(run.id)
        process = next((s.detail for s in steps if s.step == PROCESS_STEP), None)
        if process is None or is_gone(process) is not True:
            continue
        lines.append(_settle_one(store, run, steps, process, by_name, environ))
    return lines


def _settle_one(
    store: HistoryStore,
    run: RunRecord,
    steps: list[ApplyStepRecord],
    process: Mapping[str, Any],
    targets: Mapping[str, Target],
    environ: Mapping[str, str],
) -> str:
    locked = [s for s in steps if s.step == "lock" and s.outcome == "ok"]
    committed = {(s.target, s.database) for s in steps if s.step == "update" and s.outcome == "ok"}
    databases = [
        _state(s, (s.target, s.database) in committed, targets, environ, run.id) for s in locked
    ]
    summary = {
        "outcome": "interrupted",
        "settled": f"process {process.get('pid')} on {process.get('host')} is gone",
        "databases": databases,
    }
    store.finish_run(run.id, "interrupted", summary)
    states = "; ".join(f"{d['target']}/{d['database']}: {d['state']}" for d in databases)
    return f"run {run.id} was left running by a process that is gone: settled as interrupted" + (
        f" ({states})" if states else " (no database had been started)"
    )


def _state(
    step: ApplyStepRecord,
    committed: bool,
    targets: Mapping[str, Target],
    environ: Mapping[str, str],
    run_id: str,
) -> dict[str, Any]:
    before, after = step.detail.get("from"), step.detail.get("to")
    out: dict[str, Any] = {"target": step.target, "database": step.database, "from": before}
    out["to"] = after
    target = targets.get(step.target)
    resolved = resolve_conninfo(target, environ) if target else None
    if resolved is None or isinstance(resolved, ConnInfoError) or step.database is None:
        out["state"] = "not checked (the target is not among this run's targets)" + (
            "; the update step had committed" if committed else ""
        )
        return out
    endpoint = Endpoint(
        step.target,
        step.database,
        resolved.for_database(step.database),
        f"vecpatch settle {run_id}",
    )
    try:
        with endpoint.connect() as conn:
            found = extversion(conn)
    except psycopg.Error as exc:
        out["state"] = f"not checked: {error_text(exc, endpoint)}"
        return out
    out["extversion"] = found
    if found == before:
        out["state"] = f"unchanged at {found}"
    elif found == after:
        out["state"] = f"updated to {found}; post-commit steps were not finished"
    else:
        out["state"] = f"at {found} (the run planned {before} -> {after})"
    return out
