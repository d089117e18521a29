"""The rollback drill: restore the pre-update backup the way ``vecpatch rollback`` does.

pgvector has no downgrade scripts, so the way back after COMMIT is a restore, and
operators need to know how long it takes on their data to size the maintenance window.
The backup is apply's (``pg_dump`` directory format, verified with ``pg_restore --list``,
with ``extversion`` and row counts recorded); the restore is rollback's (``pg_restore
--clean --if-exists --single-transaction`` into the same database, then ``extversion``
and row counts verified).

pgvector ships only its current install script, so the restored ``CREATE EXTENSION``
comes back at whatever version is on disk: the old package is put back first (sandbox:
``install_extension(old)``; staging DSN: the package hook with the old version). When
that cannot be done here the drill is skipped, saying why; when the server holds other
databases whose pgvector is not the old version, putting the old package back would break
them, so the drill is skipped naming them (a clone has no neighbours). A drill that runs
and fails fails the stage.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import psycopg

from vecpatch.apply.backup import BackupFailed, take_backup
from vecpatch.apply.binaries import BinariesNotFound
from vecpatch.apply.rollback import RollbackOptions
from vecpatch.apply.rollback import restore_backup as rollback_restore
from vecpatch.history.store import HistoryStore
from vecpatch.probe.facts import DatabaseFacts
from vecpatch.stage.model import Check
from vecpatch.stage.settings import BackupSettings
from vecpatch.stage.staging import Staging, neighbours_at_other_versions, restore_package


def backup(staging: Staging, db: DatabaseFacts, dest: Path, pg_major: int) -> dict[str, Any]:
    """Take the backup before the update; ``{"error": ...}`` when it cannot be taken."""
    opts = BackupSettings(pg_bin=staging.pg_bin)
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
    others = neighbours_at_other_versions(staging, old_version)
    if others:
        why = (
            f"skipped: putting pgvector {old_version}'s package back for the whole server would "
            f"break {', '.join(others)}; stage a clone (--clone-from) to drill the rollback"
        )
        doc["outcome"] = "skipped"
        return _skipped(why, info), doc
    package = restore_package(staging, old_version, pg_major)
    doc["package"] = package.detail
    if not package.ok:
        doc["outcome"] = "skipped"
        why = f"skipped: no way to put pgvector {old_version} back here ({package.detail})"
        return _skipped(why, info), doc
    opts = RollbackOptions(yes=True, pg_bin=staging.pg_bin)
    started = time.perf_counter()
    restored = rollback_restore(staging.target, info, opts, store, run_id)
    doc["restore_seconds"] = round(time.perf_counter() - started, 3)
    doc |= {"outcome": restored["outcome"], "notes": restored.get("notes", [])}
    ok = restored["outcome"] == "restored"
    detail = f"restored in {doc['restore_seconds']:.1f} s; " + "; ".join(doc["notes"])
    shutil.rmtree(str(info.get("location") or ""), ignore_errors=True)
    return Check("rollback drill", ok, detail), doc


def _skipped(why: str, info: dict[str, Any]) -> Check:
    shutil.rmtree(str(info.get("location") or ""), ignore_errors=True)
    return Check("rollback drill", True, why, skipped=True)
