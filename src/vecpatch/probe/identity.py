"""One identity per server, so that aliases and DSNs of one PostgreSQL server merge.

The system identifier (``pg_control_system()``) is the same through every host name,
address, port forward or pooler that reaches the same cluster, and differs between
clusters; a role without the right to read it gets the address and port the server
itself reports for the connection (so ``localhost`` and ``127.0.0.1`` still agree), and
over a Unix socket the socket directory and port from the target's DSN.
"""

from __future__ import annotations

from typing import Any

import psycopg

from vecpatch.probe import queries


def identity(system_identifier: str | None, address: str | None, port: Any, fallback: str) -> str:
    """The identity string from what the server said (pure; see the module docstring)."""
    if system_identifier:
        return f"sysid:{system_identifier}"
    if address:
        return f"addr:{address}:{port}"
    return f"addr:{fallback}"


async def server_identity(conn: psycopg.AsyncConnection[Any], host: str, port: str) -> str:
    """Read the identity over an open connection (two tiny queries, once per target)."""
    cur = await conn.execute(queries.IDENTITY)
    row = await cur.fetchone()
    allowed, address, server_port = row if row else (False, None, None)
    sysid = None
    if allowed:
        cur = await conn.execute(queries.SYSTEM_IDENTIFIER)
        found = await cur.fetchone()
        sysid = str(found[0]) if found and found[0] else None
    return identity(sysid, address, server_port, f"{host}:{port}")
