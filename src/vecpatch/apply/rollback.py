"""`vecpatch rollback RUN_ID`: restore the pg_dump backup an apply took, then prove it.

pgvector has no downgrade scripts, so going back after COMMIT means restoring. We
restore into the same database with ``pg_restore --clean --if-exists
--single-transaction`` (all or nothing) using the tools that made the dump, then check
``extversion`` and the row counts recorded at backup time.

Limitation: the dump says ``CREATE EXTENSION vector`` without a version, so the
extension comes back at the version *on disk*; pgvector ships only its current install
script. Reinstall the old package first (as the runbook says) to get the old version
back; otherwise the extversion check fails and says so.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from vecpatch.apply.backup import extversion, row_counts_by_name
from vecpatch.apply.session import Endpoint, error_text
from vecpatch.errors import UsageError
from vecpatch.exitcodes import ExitCode
from vecpatch.history.records import ApplyStepRecord
from vecpatch.history.store import HistoryStore
from vecpatch.targets import ConnInfoError, Target, resolve_conninfo


@dataclass(frozen=True)
class RollbackOptions:
    """The operator's choices for a rollback."""

    yes: bool = False
    pg_bin: Path | None = None


@dataclass
class RollbackResult:
    """What was restored and whether it checks out."""

    run_id: str
    apply_run_id: str
    outcome: str
    databases: list[dict[str, Any]] = field(default_factory=list)

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.OK if self.outcome == "restored" else ExitCode.FINDINGS

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "apply_run_id": self.apply_run_id,
            "outcome": self.outcome,
            "databases": self.databases,
        }


def backups_of(store: HistoryStore, apply_run_id: str) -> list[Mapping[str, Any]]:
    """The backups an apply run recorded (one per database)."""
    run = store.get_run(apply_run_id)
    if run is None or run.kind != "apply":
        raise UsageError(f"no apply run {apply_run_id} in the history store {store.url}")
    found = [
        s.detail
        for s in store.apply_steps(apply_run_id)
        if s.step == "backup" and s.outcome == "ok"
    ]
    if not found:
        raise UsageError(f"apply run {apply_run_id} recorded no backup")
    return found


def run_rollback(
    apply_run_id: str,
    targets: list[Target],
    opts: RollbackOptions,
    store: HistoryStore,
    ui: Any,
) -> RollbackResult:
    """Restore every restorable backup of the run (after typed confirmation)."""
    backups = backups_of(store, apply_run_id)
    by_name = {t.name: t for t in targets}
    for b in backups:
        if b.get("kind") != "pg_dump" or not b.get("location"):
            raise UsageError(
                f"{b.get('target')}/{b.get('database')}: backup kind {b.get('kind')} cannot be "
                "restored by vecpatch (only --backup pg_dump); use your own restore procedure"
            )
        if b.get("target") not in by_name:
            raise UsageError(f"target {b.get('target')} of the run is not among the given targets")
    if not opts.yes:
        for name in dict.fromkeys(str(b["target"]) for b in backups):
            dbs = ", ".join(str(b["database"]) for b in backups if b["target"] == name)
            if not ui.confirm(name, f"restore {dbs} from the backup of run {apply_run_id}"):
                raise UsageError("rollback not confirmed")
    run_id = store.start_run("rollback")
    result = RollbackResult(run_id, apply_run_id, "restored")
    for b in backups:
        doc = restore_backup(by_name[str(b["target"])], b, opts, store, run_id)
        result.databases.append(doc)
        if doc["outcome"] != "restored":
            result.outcome = "failed"
    store.finish_run(run_id, result.outcome, result.to_dict())
    return result


def restore_backup(
    target: Target, b: Mapping[str, Any], opts: RollbackOptions, store: HistoryStore, run_id: str
) -> dict[str, Any]:
    """Restore one recorded backup and verify extversion and row counts against it.

    Public because staging's rollback drill uses exactly this procedure.
    """
    database = str(b["database"])
    doc: dict[str, Any] = {"target": target.name, "database": database, "notes": []}
    resolved = resolve_conninfo(target)
    if isinstance(resolved, ConnInfoError):
        doc.update(outcome="failed", notes=[resolved.reason])
        return doc
    endpoint = Endpoint(
        target.name, database, resolved.for_database(database), f"vecpatch rollback {run_id}"
    )
    started = datetime.now(UTC)
    tool = opts.pg_bin / "pg_restore" if opts.pg_bin else Path(str(b.get("pg_restore")))
    conninfo, env = endpoint.child_env()
    cmd = [str(tool), "--clean", "--if-exists", "--single-transaction", "--exit-on-error"]
    cmd += ["-d", conninfo, str(b["location"])]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = endpoint.clean(" ".join(proc.stderr.strip().splitlines()[-3:]))
        doc.update(outcome="failed", notes=[f"pg_restore failed (nothing restored): {tail}"])
    else:
        doc.update(_verify(endpoint, b))
    store.record_apply_step(
        ApplyStepRecord(
            run_id=run_id, target=target.name, database=database, step="restore",
            outcome=doc["outcome"], started_at=started,
            duration=(datetime.now(UTC) - started).total_seconds(), detail=doc,
        )
    )  # fmt: skip
    return doc


def _verify(endpoint: Endpoint, b: Mapping[str, Any]) -> dict[str, Any]:
    notes: list[str] = []
    expected_counts = dict(b.get("row_counts") or {})
    try:
        with endpoint.connect() as conn:
            version = extversion(conn)
            counts = row_counts_by_name(conn, list(expected_counts))
    except psycopg.Error as exc:
        return {"outcome": "failed", "notes": [f"cannot verify: {error_text(exc, endpoint)}"]}
    ok = version == b.get("extversion")
    notes.append(f"extversion {version} (backup: {b.get('extversion')})")
    if not ok:
        notes.append(
            "the extension came back at the version on disk: reinstall the old pgvector "
            "package, then run rollback again"
        )
    for name, want in expected_counts.items():
        got = counts.get(name)
        notes.append(f"{name}: {got} rows (backup: {want})")
        ok = ok and got == want
    return {"outcome": "restored" if ok else "failed", "notes": notes, "extversion": version}
