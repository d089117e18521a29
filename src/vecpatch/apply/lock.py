"""One apply at a time per database: a session-level advisory lock on its own connection.

The key is two int4s: a constant derived from ``'vecpatch'`` and the database's oid, so
every vecpatch (any version, any host) agrees on it. We *try* the lock instead of
waiting: a second apply is refused at once and told who holds it and since when.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from vecpatch.apply.session import Endpoint
from vecpatch.errors import VecpatchError

LOCK_CLASS = zlib.crc32(b"vecpatch") - (1 << 32 if zlib.crc32(b"vecpatch") >= 1 << 31 else 0)


def _int4(oid: int) -> int:
    return oid - (1 << 32) if oid >= 1 << 31 else oid


_HOLDER = sql.SQL(
    "SELECT a.application_name, a.usename, a.client_addr::text, a.backend_start, a.pid "
    "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
    "WHERE l.locktype = 'advisory' AND l.granted AND l.database = {oid} "
    "AND l.classid::bigint = {k1} AND l.objid::bigint = {k2} AND l.objsubid = 2 "
    "AND l.pid <> pg_backend_pid()"
)


@dataclass
class ApplyLock:
    """The held lock; closing the connection (or :meth:`release`) frees it."""

    conn: psycopg.Connection[Any]
    pid: int

    def release(self) -> None:
        if not self.conn.closed:
            self.conn.close()


class LockBusy(VecpatchError):
    """Another apply holds the database's lock; the message says who and since when."""


def acquire(endpoint: Endpoint) -> ApplyLock:
    """Take the database's apply lock or raise :class:`LockBusy`."""
    conn = endpoint.connect()
    try:
        row = conn.execute("SELECT oid::bigint FROM pg_database WHERE datname = current_database()")
        oid = int(row.fetchone()[0])  # type: ignore[index]
        k1, k2 = LOCK_CLASS, _int4(oid)
        got = conn.execute(
            sql.SQL("SELECT pg_try_advisory_lock({}, {})").format(sql.Literal(k1), sql.Literal(k2))
        ).fetchone()
        if got and got[0]:
            return ApplyLock(conn, conn.info.backend_pid)
        query = _HOLDER.format(
            oid=sql.Literal(oid), k1=sql.Literal(k1 & 0xFFFFFFFF), k2=sql.Literal(k2 & 0xFFFFFFFF)
        )
        holder = conn.execute(query).fetchone()
    except BaseException:
        conn.close()
        raise
    conn.close()
    raise LockBusy(_describe(endpoint.database, holder))


def _describe(database: str, holder: tuple[Any, ...] | None) -> str:
    if holder is None:
        return f"an apply on database {database} is in progress (holder just left; retry)"
    app, user, addr, since, pid = holder
    where = f" from {addr}" if addr else ""
    return (
        f"an apply on database {database} is in progress since {since:%Y-%m-%d %H:%M:%S %Z} "
        f"by {app or 'an unnamed session'!s} (user {user}{where}, pid {pid})"
    )
