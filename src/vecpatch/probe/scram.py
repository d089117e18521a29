"""Derive a role's SCRAM keys once per server instead of once per database connection.

With SCRAM-SHA-256, libpq turns the password into keys with 4,096 rounds of PBKDF2 on
every connection: about a third of the cost of probing a small database. libpq 18 accepts
the derived keys (``scram_client_key``, ``scram_server_key``, made for SCRAM pass-through
in postgres_fdw and dblink), so a probe that can read its own role's verifier derives them
once and every other database of that server is reached without the rounds.

The derivation is used only when it is certain to be right: the verifier is SCRAM-SHA-256,
the password is printable ASCII (SASLprep leaves it unchanged) and the derived client key
hashes to the verifier's stored key. Otherwise the password is used as before. The keys
are as secret as the password: they live in memory and are redacted like it.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Any, Final

import psycopg
from psycopg import pq, sql

LIBPQ_WITH_KEYS: Final = 180000

MAY_READ: Final = sql.SQL("SELECT has_table_privilege('pg_catalog.pg_authid', 'SELECT')")
"""Asked first: reading pg_authid without the privilege would log an error on the server."""

VERIFIER: Final = sql.SQL("SELECT rolpassword FROM pg_authid WHERE rolname = session_user")
"""The verifier of the role that logged in (``options=-c role=...`` changes current_user)."""

_REFUSED: Final = ("password", "sasl", "scram", "server signature")
"""What libpq and the server say when credentials, not the connection, were the problem."""


@dataclass(frozen=True)
class ScramKeys:
    """A role's client and server keys, base64 as libpq takes them."""

    client: str = field(repr=False)
    server: str = field(repr=False)

    def conninfo(self) -> dict[str, str]:
        """Connection parameters that replace the password."""
        return {"password": "", "scram_client_key": self.client, "scram_server_key": self.server}

    @property
    def secrets(self) -> tuple[str, str]:
        return self.client, self.server


def supported() -> bool:
    """True when the libpq psycopg uses takes SCRAM keys as connection parameters."""
    return pq.version() >= LIBPQ_WITH_KEYS


def derive(verifier: str | None, password: str) -> ScramKeys | None:
    """The keys for ``password`` under ``verifier``, or None when not provably right."""
    if not verifier or not _plain(password):
        return None
    try:
        method, rest = verifier.split("$", 1)
        count_salt, stored_server = rest.split("$", 1)
        count, salt = count_salt.split(":", 1)
        stored, server = stored_server.split(":", 1)
        iterations, salt_bytes = int(count), base64.b64decode(salt, validate=True)
        stored_key, server_key = base64.b64decode(stored), base64.b64decode(server)
    except ValueError:
        return None
    if method != "SCRAM-SHA-256" or not 0 < iterations <= 10_000_000:
        return None
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt_bytes, iterations)
    client_key = hmac.digest(salted, b"Client Key", "sha256")
    if not hmac.compare_digest(hashlib.sha256(client_key).digest(), stored_key):
        return None
    if not hmac.compare_digest(hmac.digest(salted, b"Server Key", "sha256"), server_key):
        return None
    return ScramKeys(base64.b64encode(client_key).decode(), base64.b64encode(server_key).decode())


async def read_keys(conn: psycopg.AsyncConnection[Any], password: str) -> ScramKeys | None:
    """Derive the keys from the connected role's verifier, if the role may read it."""
    if not supported() or not _plain(password):
        return None
    may = await (await conn.execute(MAY_READ)).fetchone()
    if not may or not may[0]:
        return None
    row = await (await conn.execute(VERIFIER)).fetchone()
    verifier = str(row[0]) if row and row[0] else None
    return await asyncio.to_thread(derive, verifier, password)  # PBKDF2: off the event loop


def refused(exc: BaseException) -> bool:
    """The keys (or a missing password) were refused: worth retrying with the password.

    Narrow on purpose: "too many connections for role" or a missing pg_hba entry would fail
    the same way with the password, and retrying would only double the failed logins.
    """
    text = str(exc).lower()
    return "no pg_hba.conf entry" not in text and any(p in text for p in _REFUSED)


def _plain(password: str) -> bool:
    """Printable ASCII: SASLprep maps nothing and prohibits nothing, as libpq would see it."""
    return bool(password) and all(" " <= ch <= "~" for ch in password)
