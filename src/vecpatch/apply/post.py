"""After COMMIT: verify from a new session, run required actions, find stale sessions.

Sessions that started before the library changed keep the old ``vector.so`` in memory:
old functions still work, but SQL the new version added fails in them with ``could not
find function`` until they reconnect. We cannot read the file's mtime remotely, so the
commit time is the (conservative) cutoff; our own run's sessions are left out.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

from vecpatch.apply.backup import extversion
from vecpatch.apply.hooks import run_hook
from vecpatch.apply.model import ApplyOptions, Check
from vecpatch.apply.session import Endpoint, error_text
from vecpatch.apply.smoke import Baseline, run_checks
from vecpatch.placeholders import fill
from vecpatch.plan import Action
from vecpatch.probe.facts import DatabaseFacts


def verify(
    endpoint: Endpoint,
    target: str,
    db: DatabaseFacts,
    opts: ApplyOptions,
    baseline: Baseline | None = None,
) -> list[Check]:
    """extversion and the smoke checks again, from a brand-new session."""
    try:
        with endpoint.connect(autocommit=False) as conn:
            found = extversion(conn)
            checks = [Check("extversion after COMMIT (new session)", found == target, f"{found}")]
            checks += run_checks(conn, db, opts.recall_threshold, baseline)
            conn.rollback()
            return checks
    except psycopg.Error as exc:
        return [Check("verification after COMMIT", False, error_text(exc, endpoint))]


def run_action(endpoint: Endpoint, action: Action, log: list[str]) -> Check:
    """A required SQL action (REINDEX ... CONCURRENTLY runs outside a transaction)."""
    if action.sql is None:
        return Check(
            f"action: {action.description}", True, "manual: reported to the operator", True
        )
    progress: list[str] = []
    stop = threading.Event()
    watcher = threading.Thread(target=_watch_progress, args=(endpoint, stop, progress), daemon=True)
    watcher.start()
    log.append(action.sql)
    try:
        with endpoint.connect() as conn:
            # A concurrent rebuild of a large index takes as long as it takes; cancelling it
            # would leave an invalid index behind.
            conn.execute(sql.SQL("SET statement_timeout = 0"))
            conn.execute(sql.SQL(action.sql))  # composed by the planner with psycopg.sql
        return Check(f"action: {action.description}", True, "; ".join(progress[-3:]))
    except psycopg.Error as exc:
        return Check(f"action: {action.description}", False, error_text(exc, endpoint))
    finally:
        stop.set()
        watcher.join(timeout=5)


def _watch_progress(endpoint: Endpoint, stop: threading.Event, out: list[str]) -> None:
    query = sql.SQL(
        "SELECT phase, blocks_done, blocks_total, tuples_done, tuples_total "
        "FROM pg_stat_progress_create_index WHERE datname = current_database()"
    )
    try:
        with endpoint.connect() as conn:
            while not stop.wait(0.5):
                for phase, bd, bt, td, tt in conn.execute(query).fetchall():
                    out.append(f"{phase}: blocks {bd}/{bt}, tuples {td}/{tt}")
    except psycopg.Error:
        return


_STALE = sql.SQL(
    "SELECT pid, usename, application_name, client_addr::text, backend_start, state "
    "FROM pg_stat_activity WHERE datname = current_database() "
    "AND backend_type = 'client backend' AND pid <> pg_backend_pid() "
    "AND backend_start < {cutoff} AND application_name IS DISTINCT FROM {ours} ORDER BY pid"
)


def stale_sessions(endpoint: Endpoint, cutoff: datetime) -> list[dict[str, Any]]:
    """Sessions of this database that started before the update committed."""
    query = _STALE.format(cutoff=sql.Literal(cutoff), ours=sql.Literal(endpoint.application_name))
    with endpoint.connect() as conn:
        rows = conn.execute(query).fetchall()
    return [
        {
            "pid": pid,
            "user": user,
            "application_name": app,
            "client_addr": addr,
            "backend_start": start.isoformat(),
            "state": state,
        }
        for pid, user, app, addr, start, state in rows
    ]


def _terminate(endpoint: Endpoint, sessions: list[dict[str, Any]]) -> str:
    """``pg_terminate_backend`` each stale session; a refusal is reported, not raised."""
    done, refused = 0, []
    try:
        with endpoint.connect() as conn:
            # The timeout argument exists from PostgreSQL 14 on.
            waits = conn.info.server_version >= 140000
            for s in sessions:
                args = [sql.Literal(s["pid"]), *([sql.Literal(5000)] if waits else [])]
                query = sql.SQL("SELECT pg_terminate_backend({})").format(sql.SQL(", ").join(args))
                try:
                    row = conn.execute(query).fetchone()
                    done += bool(row and row[0])
                except psycopg.Error as exc:
                    refused.append(f"pid {s['pid']}: {error_text(exc, endpoint)}")
    except psycopg.Error as exc:
        refused.append(error_text(exc, endpoint))
    how = f"terminated {done} of {len(sessions)}"
    return how + (f"; refused: {'; '.join(refused)}" if refused else "")


def reconnect(
    endpoint: Endpoint, sessions: list[dict[str, Any]], opts: ApplyOptions, cutoff: datetime
) -> tuple[Check, list[dict[str, Any]]]:
    """Make stale sessions reconnect (hook or pg_terminate_backend); return what remains."""
    if opts.reconnect_hook:
        command = fill(
            opts.reconnect_hook,
            {"host": endpoint.host, "port": endpoint.port, "database": endpoint.database},
        )
        _conninfo, env = endpoint.child_env()
        result = run_hook(command, env, endpoint.secrets)
        how = f"hook exited {result.returncode}"
    else:
        how = _terminate(endpoint, sessions)
    time.sleep(0.2)
    remaining = stale_sessions(endpoint, cutoff)
    ok = not remaining
    return Check("reconnect stale sessions", ok, f"{how}; {len(remaining)} remain"), remaining
