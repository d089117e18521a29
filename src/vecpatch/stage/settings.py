"""The few apply settings staging uses, as staging's own values.

Staging runs apply's update and backup code (so it rehearses exactly what production
will run) but not apply's defaults: these types satisfy
:class:`vecpatch.apply.update.UpdateSettings` and
:class:`vecpatch.apply.backup.BackupSettings` and hold only what those read, so a new
``ApplyOptions`` field or default never changes a stage.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vecpatch.apply.model import BackupKind, BeforeCommit, ExtraCheck


@dataclass(frozen=True)
class UpdateSettings:
    """The checked update on staging: lock waits kept short, the same checks as apply."""

    lock_timeout: float = 2.0
    statement_timeout: float = 300.0
    retry_budget: float = 10.0
    recall_threshold: float = 0.8
    """Used only for an index without a baseline of its own (the baseline could not be read)."""
    extra_checks: tuple[ExtraCheck, ...] = ()
    before_commit: BeforeCommit | None = None


@dataclass(frozen=True)
class BackupSettings:
    """The rollback drill's backup: a verified ``pg_dump`` in directory format."""

    pg_bin: Path | None = None
    backup: BackupKind = BackupKind.PG_DUMP
    backup_command: str | None = None
    retry_budget: float = 30.0
    dump_jobs: int = 2
