"""`vecpatch rollback RUN_ID`: check first, restore the pg_dump backup an apply took, prove it.

pgvector has no downgrade scripts, so going back after COMMIT means restoring. Before
anything changes, each database is checked under its apply lock: the backup's
``extversion`` must be what ``CREATE EXTENSION`` installs from the package on disk (the
dump names no version), and no table may have been written since the backup (live row
counts and the statistics collector's insert/update/delete counters against the
backup's), unless ``--discard-newer-writes`` says to discard those writes; then the run
says how many per table. The restore is ``pg_restore --clean --if-exists
--single-transaction`` (all or nothing) with a ``lock_timeout``, as the extension's owner
(``--role``) so owners and privileges come back as they were, then ``extversion``, row
counts, owners and ACLs are checked against the backup.

Exit 1 only when nothing changed (refused, or pg_restore failed and rolled back); exit 5
when data was restored but did not verify, or only some databases were restored.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from vecpatch.apply.backup import (
    extension_owner,
    extversion,
    modifications,
    row_counts_by_name,
    table_grants,
)
from vecpatch.apply.blockers import session_text
from vecpatch.apply.lock import ApplyLock, LockBusy, acquire
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
    discard_newer_writes: bool = False
    lock_timeout: float = 5.0


@dataclass
class RollbackResult:
    """What was restored and whether it checks out."""

    run_id: str
    apply_run_id: str
    outcome: str
    databases: list[dict[str, Any]] = field(default_factory=list)

    @property
    def exit_code(self) -> ExitCode:
        if self.outcome == "restored":
            return ExitCode.OK
        if any(d.get("changed") for d in self.databases):
            return ExitCode.RESTORE_UNVERIFIED
        return ExitCode.FINDINGS

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "apply_run_id": self.apply_run_id,
            "outcome": self.outcome,
            "exit_code": int(self.exit_code),
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


def _endpoint(
    target: Target, database: str, run_id: str, environ: Mapping[str, str]
) -> Endpoint | str:
    resolved = resolve_conninfo(target, environ)
    if isinstance(resolved, ConnInfoError):
        return resolved.reason
    return Endpoint(
        target.name, database, resolved.for_database(database), f"vecpatch rollback {run_id}"
    )


def run_rollback(
    apply_run_id: str,
    targets: list[Target],
    opts: RollbackOptions,
    store: HistoryStore,
    ui: Any,
    environ: Mapping[str, str] = os.environ,
) -> RollbackResult:
    """Check every backup of the run under its lock, then (confirmed) restore them all.

    If any database fails its checks nothing is restored anywhere: a half-rolled-back run
    is worse than either state.
    """
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
    run_id = store.start_run("rollback")
    result = RollbackResult(run_id, apply_run_id, "restored")
    locks: list[ApplyLock] = []
    try:
        checked = [
            _check(by_name[str(b["target"])], b, opts, run_id, environ, locks) for b in backups
        ]
        refused = [d for d in checked if d["outcome"] == "refused"]
        if refused:
            for d in checked:
                if d["outcome"] != "refused":
                    d.update(outcome="refused", notes=[*d["notes"], "not restored: another "
                             "database of the run was refused; nothing was changed"])  # fmt: skip
            result.outcome = "refused"
            result.databases = checked
        elif not opts.yes and not _confirmed(ui, backups, apply_run_id):
            result.outcome = "refused"
            result.databases = [
                {**d, "outcome": "refused", "notes": ["not confirmed"]} for d in checked
            ]
        else:
            for b, d in zip(backups, checked, strict=True):
                done = restore_backup(by_name[str(b["target"])], b, opts, store, run_id, environ)
                d.update({**done, "notes": [*d["notes"], *done["notes"]]})
                result.databases.append(d)
            if any(d["outcome"] != "restored" for d in result.databases):
                result.outcome = "failed"
    finally:
        for lock in locks:
            lock.release()
    store.finish_run(run_id, result.outcome, result.to_dict())
    return result


def _confirmed(ui: Any, backups: list[Mapping[str, Any]], apply_run_id: str) -> bool:
    for name in dict.fromkeys(str(b["target"]) for b in backups):
        dbs = ", ".join(str(b["database"]) for b in backups if b["target"] == name)
        if not ui.confirm(name, f"restore {dbs} from the backup of run {apply_run_id}"):
            return False
    return True


def _check(
    target: Target,
    b: Mapping[str, Any],
    opts: RollbackOptions,
    run_id: str,
    environ: Mapping[str, str],
    locks: list[ApplyLock],
) -> dict[str, Any]:
    """Lock the database and read whether the backup can be restored without losing data."""
    database = str(b["database"])
    doc: dict[str, Any] = {"target": target.name, "database": database, "notes": []}
    doc["changed"] = False
    endpoint = _endpoint(target, database, run_id, environ)
    if isinstance(endpoint, str):
        return {**doc, "outcome": "refused", "notes": [endpoint]}
    try:
        lock = acquire(endpoint)
    except (LockBusy, psycopg.Error) as exc:
        return {**doc, "outcome": "refused", "notes": [endpoint.clean(str(exc))]}
    locks.append(lock)
    try:
        reasons = _installable(lock.conn, b)
        writes = _writes_since(lock.conn, b)
    except psycopg.Error as exc:
        return {**doc, "outcome": "refused", "notes": [error_text(exc, endpoint)]}
    doc["writes_since_backup"] = writes
    if writes and not opts.discard_newer_writes:
        listed = "; ".join(_write_text(name, w) for name, w in writes.items())
        reasons.append(
            f"{len(writes)} table(s) written since the backup ({listed}); restoring would "
            "discard those writes: pass --discard-newer-writes to restore anyway"
        )
    if reasons:
        return {**doc, "outcome": "refused", "notes": reasons}
    if writes:
        doc["discarded"] = {name: _write_text(name, w) for name, w in writes.items()}
        doc["notes"] = [
            f"discarded (--discard-newer-writes): {t}" for t in doc["discarded"].values()
        ]
    doc["outcome"] = "checked"
    return doc


def _installable(conn: psycopg.Connection[Any], b: Mapping[str, Any]) -> list[str]:
    """The dump says ``CREATE EXTENSION vector`` without a version: the package on disk must
    install exactly the backup's version, or the restore would bring back another one."""
    want = b.get("extversion")
    row = conn.execute(
        sql.SQL("SELECT default_version FROM pg_available_extensions WHERE name = 'vector'")
    ).fetchone()
    on_disk = str(row[0]) if row and row[0] is not None else None
    if on_disk == want:
        return []
    return [
        f"the backup holds pgvector {want}, but the package on disk installs "
        f"{on_disk or 'nothing'}: install the pgvector {want} package on the server first "
        "(the package step of the runbook), then run rollback again; nothing was changed"
    ]


def _writes_since(conn: psycopg.Connection[Any], b: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Per table: writes counted since the backup and live rows against the backup's."""
    then_rows: dict[str, int] = dict(b.get("row_counts") or {})
    then_mods: dict[str, int] | None = b.get("modifications")
    out: dict[str, dict[str, Any]] = {}
    now_rows = row_counts_by_name(conn, list(then_rows))
    for name, rows in then_rows.items():
        if now_rows.get(name) != rows:
            out[name] = {"rows_backup": rows, "rows_now": now_rows.get(name)}
    if then_mods is None:
        out["*"] = {"note": "the backup recorded no write statistics: writes cannot be ruled out"}
        return out
    conn.execute(sql.SQL("SELECT pg_stat_clear_snapshot()"))
    now_mods = modifications(conn)
    for name, before in then_mods.items():
        after = now_mods.get(name)
        if after is None or after == before:
            continue
        entry = out.setdefault(name, {})
        if after < before:
            entry["note"] = "statistics were reset since the backup: writes cannot be ruled out"
        else:
            entry["writes"] = after - before
    return out


def _write_text(name: str, w: Mapping[str, Any]) -> str:
    parts = []
    if "writes" in w:
        parts.append(f"{w['writes']} row(s) inserted, updated or deleted")
    if "rows_backup" in w:
        parts.append(f"{w['rows_now']} rows now, {w['rows_backup']} in the backup")
    if "note" in w:
        parts.append(str(w["note"]))
    return f"{name}: {', '.join(parts)}"


def restore_backup(
    target: Target,
    b: Mapping[str, Any],
    opts: RollbackOptions,
    store: HistoryStore,
    run_id: str,
    environ: Mapping[str, str] = os.environ,
) -> dict[str, Any]:
    """Restore one recorded backup and verify it against the backup's records.

    Public because staging's rollback drill uses exactly this procedure. ``changed`` says
    whether the database's data was replaced (pg_restore's transaction committed).
    """
    database = str(b["database"])
    doc: dict[str, Any] = {"target": target.name, "database": database, "notes": []}
    endpoint = _endpoint(target, database, run_id, environ)
    if isinstance(endpoint, str):
        doc.update(outcome="failed", changed=False, notes=[endpoint])
        return doc
    started = datetime.now(UTC)
    proc = _pg_restore(endpoint, b, opts)
    if proc.returncode != 0:
        tail = endpoint.clean(" ".join(proc.stderr.strip().splitlines()[-3:]))
        notes = [f"pg_restore failed, rolled back (nothing restored): {tail}"]
        if "lock timeout" in proc.stderr:
            notes.append(_lock_holders(endpoint))
        doc.update(outcome="failed", changed=False, notes=notes)
    else:
        doc.update(_verify(endpoint, b), changed=True)
    store.record_apply_step(
        ApplyStepRecord(
            run_id=run_id, target=target.name, database=database, step="restore",
            outcome=doc["outcome"], started_at=started,
            duration=(datetime.now(UTC) - started).total_seconds(), detail=doc,
        )
    )  # fmt: skip
    return doc


def _pg_restore(
    endpoint: Endpoint, b: Mapping[str, Any], opts: RollbackOptions
) -> subprocess.CompletedProcess[str]:
    """pg_restore in one transaction, with a lock timeout, as the extension's old owner."""
    tool = opts.pg_bin / "pg_restore" if opts.pg_bin else Path(str(b.get("pg_restore")))
    conninfo, env = endpoint.child_env()
    wait = f"-c lock_timeout={max(1, round(opts.lock_timeout * 1000))}"
    env["PGOPTIONS"] = f"{env.get('PGOPTIONS', '')} {wait}".strip()
    cmd = [str(tool), "--clean", "--if-exists", "--single-transaction", "--exit-on-error"]
    if b.get("extension_owner"):
        cmd.append(f"--role={b['extension_owner']}")  # CREATE EXTENSION runs as the owner
    cmd += ["-d", conninfo, str(b["location"])]
    return subprocess.run(
        cmd, env=env, capture_output=True, text=True, check=False, start_new_session=True
    )


_HOLDERS = sql.SQL(
    "SELECT DISTINCT a.pid, a.usename, a.application_name, a.state, "
    "extract(epoch FROM now() - a.xact_start)::float8, a.query_start, "
    "l.relation::regclass::text "
    "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
    "WHERE l.granted AND l.relation IS NOT NULL AND a.pid <> pg_backend_pid() "
    "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
    "AND a.application_name IS DISTINCT FROM {ours} ORDER BY a.pid"
)


def _lock_holders(endpoint: Endpoint) -> str:
    """Who holds locks on this database's tables now (the likely cause of the timeout)."""
    try:
        with endpoint.connect() as conn:
            query = _HOLDERS.format(ours=sql.Literal(endpoint.application_name))
            rows = conn.execute(query).fetchall()
    except psycopg.Error as exc:
        return f"lock holders not read: {error_text(exc, endpoint)}"
    if not rows:
        return "no session holds a table lock now (the blocker has let go: retry)"
    held = [f"{session_text(r[:6])} on {r[6]}" for r in rows]
    return "sessions holding table locks: " + "; ".join(held)


def _verify(endpoint: Endpoint, b: Mapping[str, Any]) -> dict[str, Any]:
    notes: list[str] = []
    expected_counts = dict(b.get("row_counts") or {})
    try:
        with endpoint.connect() as conn:
            version = extversion(conn)
            counts = row_counts_by_name(conn, list(expected_counts))
            owner = extension_owner(conn)
            grants = table_grants(conn, list(expected_counts))
    except psycopg.Error as exc:
        return {"outcome": "unverified", "notes": [f"cannot verify: {error_text(exc, endpoint)}"]}
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
    if b.get("extension_owner") and owner != b["extension_owner"]:
        notes.append(f"extension owner {owner} (backup: {b['extension_owner']})")
        ok = False
    for name, want_grants in (b.get("grants") or {}).items():
        if grants.get(name) != list(want_grants):
            notes.append(f"{name}: owner/ACL {grants.get(name)} (backup: {want_grants})")
            ok = False
    return {"outcome": "restored" if ok else "unverified", "notes": notes, "extversion": version}
