"""The backup taken before the update, and the facts rollback will verify against.

pgvector ships no downgrade scripts, so after COMMIT the only way back is a restore.
A pg_dump backup is proven readable (``pg_restore --list``) before the update starts;
the row counts of every table with a vector column and the installed ``extversion``
are recorded with it so a rollback can show it brought back what was there. The counts
and the dump see the same data: a snapshot is exported from a transaction that touches
no table, the counts are read in it and pg_dump adopts it (``--snapshot``), so rows
written in between cannot make a correct restore look wrong.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, Protocol

import psycopg
from psycopg import sql

from vecpatch.apply.binaries import find_clients
from vecpatch.apply.hooks import run_hook
from vecpatch.apply.interrupt import Interrupt
from vecpatch.apply.model import BackupKind
from vecpatch.apply.session import Endpoint
from vecpatch.errors import VecpatchError
from vecpatch.placeholders import fill
from vecpatch.probe.facts import DatabaseFacts


class BackupFailed(VecpatchError):
    """The backup could not be taken or verified; nothing was changed."""


def safe_name(text: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in text)[:80]


def row_counts(conn: psycopg.Connection[Any], db: DatabaseFacts) -> dict[str, int]:
    """Exact row counts of every table with a vector column."""
    counts: dict[str, int] = {}
    for schema, table in sorted({(c.schema, c.table) for c in db.columns}):
        query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(schema, table))
        row = conn.execute(query).fetchone()
        counts[f"{schema}.{table}"] = int(row[0]) if row else 0
    return counts


def row_counts_by_name(conn: psycopg.Connection[Any], names: list[str]) -> dict[str, int | None]:
    """Row counts of ``schema.table`` names recorded at backup time (None: table missing)."""
    counts: dict[str, int | None] = {}
    for name in names:
        schema, _, table = name.partition(".")
        exists = conn.execute(
            sql.SQL("SELECT to_regclass({})").format(
                sql.Literal(sql.Identifier(schema, table).as_string(conn))
            )
        ).fetchone()
        if not exists or exists[0] is None:
            counts[name] = None
            continue
        row = conn.execute(
            sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(schema, table))
        ).fetchone()
        counts[name] = int(row[0]) if row else 0
    return counts


def extversion(conn: psycopg.Connection[Any]) -> str | None:
    row = conn.execute(
        sql.SQL("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
    ).fetchone()
    return str(row[0]) if row else None


def _size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _run(cmd: list[str], env: dict[str, str], endpoint: Endpoint, stop: Interrupt) -> str:
    """Run a client tool in its own session (a terminal's Ctrl-C reaches vecpatch, which
    decides), terminated on a stop request."""
    with (
        subprocess.Popen(
            cmd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        ) as proc,
        stop.cancellable(proc.terminate),
    ):
        stdout, stderr = proc.communicate()
    if stop.is_set():
        raise BackupFailed(f"{Path(cmd[0]).name} stopped: {stop.reason}")
    if proc.returncode != 0:
        tail = "\n".join(stderr.strip().splitlines()[-5:])
        raise BackupFailed(endpoint.clean(f"{Path(cmd[0]).name} failed: {tail}"))
    return stdout


def modifications(conn: psycopg.Connection[Any]) -> dict[str, int]:
    """Inserts + updates + deletes so far per user table (the statistics collector's count):
    a rollback compares them with its own reading to find writes made since the backup."""
    rows = conn.execute(
        sql.SQL(
            "SELECT schemaname || '.' || relname, n_tup_ins + n_tup_upd + n_tup_del "
            "FROM pg_stat_user_tables WHERE schemaname NOT LIKE 'pg\\_temp\\_%'"
        )
    ).fetchall()
    return {str(name): int(n) for name, n in rows}


def extension_owner(conn: psycopg.Connection[Any]) -> str | None:
    row = conn.execute(
        sql.SQL(
            "SELECT r.rolname FROM pg_extension e JOIN pg_roles r ON r.oid = e.extowner "
            "WHERE e.extname = 'vector'"
        )
    ).fetchone()
    return str(row[0]) if row else None


def table_grants(conn: psycopg.Connection[Any], names: list[str]) -> dict[str, list[str]]:
    """Owner and ACL of each ``schema.table`` (what a restore must bring back as it was)."""
    out: dict[str, list[str]] = {}
    for name in names:
        schema, _, table = name.partition(".")
        row = conn.execute(
            sql.SQL(
                "SELECT pg_get_userbyid(c.relowner), coalesce(c.relacl::text, '') "
                "FROM pg_class c WHERE c.oid = to_regclass({})"
            ).format(sql.Literal(sql.Identifier(schema, table).as_string(conn)))
        ).fetchone()
        if row:
            out[name] = [str(row[0]), str(row[1])]
    return out


def rollback_facts(conn: psycopg.Connection[Any], db: DatabaseFacts) -> dict[str, Any]:
    """What a rollback needs to know about the data as the backup holds it."""
    counts = row_counts(conn, db)
    return {
        "extversion": extversion(conn),
        "row_counts": counts,
        "modifications": modifications(conn),
        "extension_owner": extension_owner(conn),
        "grants": table_grants(conn, list(counts)),
    }


class BackupSettings(Protocol):
    """What taking a backup reads from its options (:class:`ApplyOptions` is one; staging's
    rollback drill passes its own)."""

    @property
    def backup(self) -> BackupKind: ...
    @property
    def backup_command(self) -> str | None: ...
    @property
    def pg_bin(self) -> Path | None: ...
    @property
    def retry_budget(self) -> float: ...
    @property
    def dump_jobs(self) -> int: ...


def take_backup(
    endpoint: Endpoint,
    db: DatabaseFacts,
    opts: BackupSettings,
    dest: Path,
    server_major: int,
    interrupt: Interrupt | None = None,
) -> dict[str, Any]:
    """Take the backup the options ask for; return what rollback and evidence need.

    A backup that fails or is stopped leaves nothing behind: a partial dump is not a backup.
    """
    stop = interrupt or Interrupt()
    existed = dest.exists()
    try:
        return _take(endpoint, db, opts, dest, server_major, stop)
    except BaseException:
        if not existed:
            shutil.rmtree(dest, ignore_errors=True)
            _prune_empty(dest.parent, levels=2)
        raise


def _prune_empty(folder: Path, levels: int) -> None:
    """Remove the run's now-empty target and run folders (never anything with content)."""
    for _ in range(levels):
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent


def _take(
    endpoint: Endpoint,
    db: DatabaseFacts,
    opts: BackupSettings,
    dest: Path,
    server_major: int,
    stop: Interrupt,
) -> dict[str, Any]:
    info: dict[str, Any] = {
        "kind": opts.backup.value,
        "target": endpoint.target,
        "database": endpoint.database,
    }
    if opts.backup not in (BackupKind.PG_DUMP, BackupKind.SCHEMA):
        with endpoint.connect() as conn:
            conn.execute(sql.SQL("SET lock_timeout = {}").format(sql.Literal(f"{wait_ms(opts)}ms")))
            info.update(rollback_facts(conn, db))
        if opts.backup is BackupKind.COMMAND:
            info.update(_command(endpoint, opts, dest))
        else:
            info["note"] = "no backup taken: --backup none --i-have-a-backup"
        return info
    with _exported_snapshot(endpoint) as snapshot:
        info.update(_counted_in(endpoint, db, snapshot, opts))
        stop.phase("backup")
        info.update(_dump(endpoint, opts, dest, server_major, snapshot, stop))
    return info


@contextmanager
def _exported_snapshot(endpoint: Endpoint) -> Iterator[str]:
    """A snapshot exported from a transaction that touches no table, open while in use.

    It holds no lock (an application's ALTER TABLE never queues behind it, so pg_dump never
    waits behind that ALTER forever) and opts out of the server's idle-transaction limits,
    as pg_dump does for its own sessions: it stays idle while pg_dump runs.
    """
    conn = endpoint.connect(autocommit=False)
    try:
        conn.execute(sql.SQL("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
        conn.execute(sql.SQL("SELECT set_config('idle_in_transaction_session_timeout', '0', true)"))
        conn.execute(
            sql.SQL(
                "SELECT set_config(name, '0', true) FROM pg_settings "
                "WHERE name = 'transaction_timeout'"
            )
        )
        row = conn.execute(sql.SQL("SELECT pg_export_snapshot()")).fetchone()
        assert row is not None
        yield str(row[0])
    finally:
        with suppress(psycopg.Error):
            conn.rollback()
        conn.close()


def wait_ms(opts: BackupSettings) -> int:
    """How long the backup may wait for a table lock (the retry budget)."""
    return max(1, round(opts.retry_budget * 1000))


def _counted_in(
    endpoint: Endpoint, db: DatabaseFacts, snapshot: str, opts: BackupSettings
) -> dict[str, Any]:
    """``extversion`` and row counts as the dump will see them, from a short transaction."""
    with endpoint.connect(autocommit=False) as conn:
        conn.execute(sql.SQL("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
        conn.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(snapshot)))
        # Behind a queued ALTER TABLE the count would wait as long as pg_dump may, no longer.
        conn.execute(
            sql.SQL("SET LOCAL lock_timeout = {}").format(sql.Literal(f"{wait_ms(opts)}ms"))
        )
        counted = rollback_facts(conn, db)
        conn.rollback()
    return counted


def _dump(
    endpoint: Endpoint,
    opts: BackupSettings,
    dest: Path,
    server_major: int,
    snapshot: str,
    stop: Interrupt,
) -> dict[str, Any]:
    clients = find_clients(server_major, opts.pg_bin)
    pg_dump, pg_restore = clients.tool("pg_dump"), clients.tool("pg_restore")
    dest.parent.mkdir(parents=True, exist_ok=True)
    conninfo, env = endpoint.child_env()
    wait = f"{wait_ms(opts)}ms"
    cmd = [str(pg_dump), "-Fd", "-f", str(dest), "-d", conninfo, f"--snapshot={snapshot}"]
    cmd.append(f"--lock-wait-timeout={wait}")  # behind a queued ALTER TABLE: fail, not hang
    if opts.backup is BackupKind.SCHEMA:
        cmd.append("--schema-only")
    else:
        cmd += ["-j", str(max(1, opts.dump_jobs))]
    _run(cmd, env, endpoint, stop)
    listing = _run([str(pg_restore), "--list", str(dest)], env, endpoint, stop)
    entries = [line for line in listing.splitlines() if line and not line.startswith(";")]
    if not entries:
        raise BackupFailed(f"pg_restore --list shows no entries in {dest}")
    return {
        "location": str(dest),
        "bytes": _size(dest),
        "format": "directory",
        "schema_only": opts.backup is BackupKind.SCHEMA,
        "consistent_with_row_counts": True,
        "verified": f"pg_restore --list: {len(entries)} entries",
        "pg_dump": str(pg_dump),
        "pg_restore": str(pg_restore),
        "client": clients.label,
    }


def _command(endpoint: Endpoint, opts: BackupSettings, dest: Path) -> dict[str, Any]:
    if not opts.backup_command:
        raise BackupFailed("--backup command needs --backup-command CMD")
    command = fill(
        opts.backup_command,
        {
            "host": endpoint.host,
            "port": endpoint.port,
            "database": endpoint.database,
            "dest": str(dest),
        },
    )
    _conninfo, env = endpoint.child_env()
    result = run_hook(command, env, endpoint.secrets)
    if not result.ok:
        raise BackupFailed(f"backup command exited {result.returncode}: {result.output}")
    return {"command": result.command, "output": result.output, "location": str(dest)}
