"""Preflight: every reason not to start, gathered at once (read-only).

A refusal that names only the first problem costs one maintenance window per problem,
so each check appends to the same list and nothing here stops early. The plan already
knows collisions, privileges and the package; this module re-reads what can change
between a scan and an apply (role, locks, sessions, disk, replica lag).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from vecpatch.apply.binaries import BinariesNotFound, find_clients
from vecpatch.apply.model import ApplyOptions, BackupKind
from vecpatch.plan import DatabasePlan, TargetPlan


@dataclass
class Preflight:
    """Reasons (refuse) and warnings (go on, but say so)."""

    reasons: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)


def plan_reasons(tplan: TargetPlan, dplan: DatabasePlan, opts: ApplyOptions) -> list[str]:
    """What the plan itself says stands in the way."""
    reasons = list(dplan.blockers)
    if tplan.on_replica:
        reasons.append("the server is a standby (in recovery): apply on the primary")
    if dplan.needs_package and not (tplan.package and tplan.package.hook_command):
        how = "; ".join(f"{k}: {v}" for k, v in tplan.package.instructions) if tplan.package else ""
        reasons.append(
            f"pgvector {dplan.target} is not on disk: install the package first ({how}) "
            "or configure a package hook"
        )
    if opts.backup is BackupKind.NONE and not opts.i_have_a_backup:
        reasons.append("--backup none needs --i-have-a-backup")
    return reasons


def check_database(
    conn: psycopg.Connection[Any],
    dplan: DatabasePlan,
    opts: ApplyOptions,
    backup_dir: Path,
    server_major: int,
) -> Preflight:
    """Live checks in one database; ``conn`` is an autocommit session of this run."""
    out = Preflight()
    _recovery(conn, out)
    _privileges(conn, out)
    if not dplan.needs_package:
        _update_path(conn, dplan, out)
    _locks(conn, out)
    _long_transactions(conn, opts, out)
    _disk(conn, opts, backup_dir, out)
    _binaries(opts, server_major, out)
    _replica_lag(conn, opts, out)
    return out


def _one(conn: psycopg.Connection[Any], query: sql.SQL | sql.Composed) -> Any:
    row = conn.execute(query).fetchone()
    return row[0] if row else None


def _recovery(conn: psycopg.Connection[Any], out: Preflight) -> None:
    if _one(conn, sql.SQL("SELECT pg_is_in_recovery()")):
        out.reasons.append("the server is a standby (in recovery): apply on the primary")


def _privileges(conn: psycopg.Connection[Any], out: Preflight) -> None:
    query = sql.SQL(
        "SELECT r.rolsuper OR pg_has_role(current_user, e.extowner, 'USAGE'), current_user "
        "FROM pg_extension e, pg_roles r WHERE e.extname = 'vector' AND r.rolname = current_user"
    )
    row = conn.execute(query).fetchone()
    if row is None:
        out.reasons.append("pgvector is not installed in this database")
    elif not row[0]:
        out.reasons.append(
            f"role {row[1]} may not ALTER EXTENSION vector (needs superuser or the owner's role)"
        )


def _update_path(conn: psycopg.Connection[Any], dplan: DatabasePlan, out: Preflight) -> None:
    query = sql.SQL(
        "SELECT path FROM pg_extension_update_paths('vector') WHERE source = {} AND target = {}"
    ).format(sql.Literal(dplan.installed), sql.Literal(dplan.target))
    path = _one(conn, query)
    if not path:
        out.reasons.append(
            f"no update path from {dplan.installed} to {dplan.target} in the scripts on disk"
        )
    else:
        out.facts["update_path"] = path


def _locks(conn: psycopg.Connection[Any], out: Preflight) -> None:
    query = sql.SQL(
        "SELECT l.pid, a.application_name, l.mode FROM pg_locks l "
        "JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.classid = 'pg_extension'::regclass "
        "AND l.objid = (SELECT oid FROM pg_extension WHERE extname = 'vector') "
        "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
        "AND l.pid <> pg_backend_pid()"
    )
    for pid, app, mode in conn.execute(query).fetchall():
        out.reasons.append(f"session {pid} ({app or 'no application_name'}) holds {mode} on vector")


def _long_transactions(conn: psycopg.Connection[Any], opts: ApplyOptions, out: Preflight) -> None:
    query = sql.SQL(
        "SELECT pid, usename, application_name, state, "
        "extract(epoch FROM now() - xact_start)::float8 FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid() "
        "AND backend_type = 'client backend' AND xact_start < now() - make_interval(secs => {})"
    ).format(sql.Literal(opts.max_xact_age))
    for pid, user, app, state, age in conn.execute(query).fetchall():
        out.reasons.append(
            f"session {pid} (user {user}, {app or 'no application_name'}, {state}) has had a "
            f"transaction open for {age:.0f} s; it may hold locks the update needs"
        )


def _free_bytes(folder: Path) -> int:
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return shutil.disk_usage(probe).free


def _disk(
    conn: psycopg.Connection[Any], opts: ApplyOptions, backup_dir: Path, out: Preflight
) -> None:
    if opts.backup not in (BackupKind.PG_DUMP, BackupKind.SCHEMA):
        return
    size = int(_one(conn, sql.SQL("SELECT pg_database_size(current_database())")))
    need = size if opts.backup is BackupKind.PG_DUMP else 16 * 1024 * 1024
    free = _free_bytes(backup_dir)
    out.facts["database_bytes"] = size
    out.facts["backup_free_bytes"] = free
    if free < need:
        out.reasons.append(
            f"not enough free disk for the backup in {backup_dir}: {free} bytes free, "
            f"{need} needed (database is {size} bytes)"
        )


def _binaries(opts: ApplyOptions, server_major: int, out: Preflight) -> None:
    if opts.backup not in (BackupKind.PG_DUMP, BackupKind.SCHEMA):
        return
    try:
        clients = find_clients(server_major, opts.pg_bin)
        out.facts["pg_dump"] = str(clients.tool("pg_dump"))
        out.facts["client"] = clients.label
    except BinariesNotFound as exc:
        out.reasons.append(str(exc))


def _replica_lag(conn: psycopg.Connection[Any], opts: ApplyOptions, out: Preflight) -> None:
    query = sql.SQL(
        "SELECT application_name, coalesce(extract(epoch FROM replay_lag), 0)::float8 "
        "FROM pg_stat_replication"
    )
    try:
        rows = conn.execute(query).fetchall()
    except psycopg.Error:
        out.warnings.append("cannot read pg_stat_replication: replica lag not checked")
        return
    for name, lag in rows:
        if lag > opts.max_replica_lag:
            out.reasons.append(
                f"replica {name or '?'} is {lag:.0f} s behind (limit {opts.max_replica_lag:.0f} s)"
            )
