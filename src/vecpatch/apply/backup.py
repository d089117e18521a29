"""The backup taken before the update, and the facts rollback will verify against.

pgvector ships no downgrade scripts, so after COMMIT the only way back is a restore.
A pg_dump backup is proven readable (``pg_restore --list``) before the update starts;
the row counts of every table with a vector column and the installed ``extversion``
are recorded with it so a rollback can show it brought back what was there. The counts
and the dump see the same data: they are read in a REPEATABLE READ transaction whose
exported snapshot pg_dump adopts (``--snapshot``), so rows written in between cannot
make a correct restore look wrong.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from vecpatch.apply.binaries import find_tool
from vecpatch.apply.hooks import run_hook
from vecpatch.apply.model import ApplyOptions, BackupKind
from vecpatch.apply.session import Endpoint
from vecpatch.placeholders import fill
from vecpatch.probe.facts import DatabaseFacts


class BackupFailed(Exception):
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


def take_backup(
    endpoint: Endpoint,
    db: DatabaseFacts,
    opts: ApplyOptions,
    dest: Path,
    server_major: int,
) -> dict[str, Any]:
    """Take the backup the options ask for; return what rollback and evidence need."""
    with endpoint.connect(autocommit=False) as conn:
        conn.execute(sql.SQL("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
        snapshot = conn.execute(sql.SQL("SELECT pg_export_snapshot()")).fetchone()
        info: dict[str, Any] = {
            "kind": opts.backup.value,
            "extversion": extversion(conn),
            "row_counts": row_counts(conn, db),
            "target": endpoint.target,
            "database": endpoint.database,
        }
        if opts.backup in (BackupKind.PG_DUMP, BackupKind.SCHEMA):
            # The transaction stays open until pg_dump has taken its snapshot over.
            info.update(
                _dump(endpoint, opts, dest, server_major, str(snapshot[0]) if snapshot else None)
            )
        conn.rollback()
    if opts.backup is BackupKind.COMMAND:
        info.update(_command(endpoint, opts, dest))
    elif opts.backup is BackupKind.NONE:
        info["note"] = "no backup taken: --backup none --i-have-a-backup"
    return info


def _dump(
    endpoint: Endpoint, opts: ApplyOptions, dest: Path, server_major: int, snapshot: str | None
) -> dict[str, Any]:
    pg_dump = find_tool("pg_dump", server_major, opts.pg_bin)
    pg_restore = find_tool("pg_restore", server_major, opts.pg_bin)
    dest.parent.mkdir(parents=True, exist_ok=True)
    conninfo, env = endpoint.child_env()
    cmd = [str(pg_dump), "-Fd", "-f", str(dest), "-d", conninfo]
    if snapshot:
        cmd.append(f"--snapshot={snapshot}")
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
        "consistent_with_row_counts": bool(snapshot),
        "verified": f"pg_restore --list: {len(entries)} entries",
        "pg_dump": str(pg_dump),
        "pg_restore": str(pg_restore),
    }


def _command(endpoint: Endpoint, opts: ApplyOptions, dest: Path) -> dict[str, Any]:
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
