"""The rollback drill: restore the pre-update backup the way ``vecpatch rollback`` does.

pgvector has no downgrade scripts, so the way back after COMMIT is a restore, and
operators need to know how long it takes on their data to size the maintenance window.
The backup is apply's (``pg_dump`` directory format, verified with ``pg_restore --list``,
with ``extversion`` and row counts recorded); the restore is rollback's (``pg_restore
--clean --if-exists --single-transaction`` into the same database, then ``extversion``
and row counts verified).

pgvector ships only its current install script, so the restored ``CREATE EXTENSION``
comes back at whatever version is on disk: the old package is put back first (sandbox:
``install_extension(old)``; staging DSN: the package hook with the old version). Without
that the drill reports the version mismatch — the same thing a real rollback would hit.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import psycopg

from vecpatch.apply.backup import BackupFailed, take_backup
from vecpatch.apply.binaries import BinariesNotFound
from vecpatch.apply.model import ApplyOptions, BackupKind
from vecpatch.apply.rollback import RollbackOptions
from vecpatch.apply.rollback import restore_backup as rollback_restore
from vecpatch.history.store import HistoryStore
from vecpatch.probe.facts import DatabaseFacts
from vecpatch.stage.model import Check
from vecpatch.stage.staging import Staging, restore_package


def backup(staging: Staging, db: DatabaseFacts, dest: Path, pg_major: int) -> dict[str, Any]:
    """Take the backup before the update; ``{"error": ...}`` when it cannot be taken."""
    opts = ApplyOptions(backup=BackupKind.PG_DUMP, pg_bin=staging.pg_bin, dump_jobs=2)
    started = time.perf_counter()
    try:
        info = take_backup(staging.endpoint, db, opts, dest, pg_major)
    except (BackupFailed, BinariesNotFound, psycopg.Error, OSError) as exc:
        return {"error": staging.endpoint.clean(str(exc))}
    info["seconds"] = round(time.perf_counter() - started, 3)
    return info


def restore(
    staging: Staging,
    info: dict[str, Any],
    old_version: str,
    pg_major: str,
    store: HistoryStore,
    run_id: str,
) -> tuple[Check, dict[str, Any]]:
    """Old package back on disk, rollback's restore, verification; the check and the record."""
    doc: dict[str, Any] = {"backup_seconds": info.get("seconds"), "backup_bytes": info.get("bytes")}
    if "error" in info:
        return Check("rollback drill", False, f"no backup: {info['error']}"), doc
    doc["package"] = restore_package(staging, old_version, pg_major)
    opts = RollbackOptions(yes=True, pg_bin=staging.pg_bin)
    started = time.perf_counter()
    restored = rollback_restore(staging.target, info, opts, store, run_id)
    doc["restore_seconds"] = round(time.perf_counter() - started, 3)
    doc |= {"outcome": restored["outcome"], "notes": restored.get("notes", [])}
    ok = restored["outcome"] == "restored"
    detail = f"restored in {doc['restore_seconds']:.1f} s; " + "; ".join(doc["notes"])
    shutil.rmtree(str(info.get("location") or ""), ignore_errors=True)
    return Check("rollback drill", ok, detail), doc
