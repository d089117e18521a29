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

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, Protocol

import psycopg
from psycopg import sql

from vecpatch.apply.binaries import find_clients
from vecpatch.apply.hooks import run_hook
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


def _run(cmd: list[str], env: dict[str, str], endpoint: Endpoint) -> str:
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-5:])
        raise BackupFailed(endpoint.clean(f"{Path(cmd[0]).name} failed: {tail}"))
    return proc.stdout


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
) -> dict[str, Any]:
    """Take the backup the options ask for; return what rollback and evidence need."""
    info: dict[str, Any] = {
        "kind": opts.backup.value,
        "target": endpoint.target,
        "database": endpoint.database,
    }
    if opts.backup not in (BackupKind.PG_DUMP, BackupKind.SCHEMA):
        with endpoint.connect() as conn:
            info.update(extversion=extversion(conn), row_counts=row_counts(conn, db))
        if opts.backup is BackupKind.COMMAND:
            info.update(_command(endpoint, opts, dest))
        else:
            info["note"] = "no backup taken: --backup none --i-have-a-backup"
        return info
    with _exported_snapshot(endpoint) as snapshot:
        info.update(_counted_in(endpoint, db, snapshot))
        info.update(_dump(endpoint, opts, dest, server_major, snapshot))
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


def _counted_in(endpoint: Endpoint, db: DatabaseFacts, snapshot: str) -> dict[str, Any]:
    """``extversion`` and row counts as the dump will see them, from a short transaction."""
    with endpoint.connect(autocommit=False) as conn:
        conn.execute(sql.SQL("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
        conn.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(snapshot)))
        counted = {"extversion": extversion(conn), "row_counts": row_counts(conn, db)}
        conn.rollback()
    return counted


def _dump(
    endpoint: Endpoint, opts: BackupSettings, dest: Path, server_major: int, snapshot: str
) -> dict[str, Any]:
    clients = find_clients(server_major, opts.pg_bin)
    pg_dump, pg_restore = clients.tool("pg_dump"), clients.tool("pg_restore")
    dest.parent.mkdir(parents=True, exist_ok=True)
    conninfo, env = endpoint.child_env()
    wait = f"{max(1, round(opts.retry_budget * 1000))}ms"
    cmd = [str(pg_dump), "-Fd", "-f", str(dest), "-d", conninfo, f"--snapshot={snapshot}"]
    cmd.append(f"--lock-wait-timeout={wait}")  # behind a queued ALTER TABLE: fail, not hang
    if opts.backup is BackupKind.SCHEMA:
        cmd.append("--schema-only")
    else:
        cmd += ["-j", str(max(1, opts.dump_jobs))]
    _run(cmd, env, endpoint)
    listing = _run([str(pg_restore), "--list", str(dest)], env, endpoint)
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
