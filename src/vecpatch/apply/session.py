"""Connections to one database for one run, and the same for child processes.

Every session is tagged ``application_name = 'vecpatch apply <run-id>'`` so a concurrent
apply can name who holds the lock, and so stale-session detection can leave our own
sessions alone. Passwords live only in the libpq parameters and, for child processes,
in ``PGPASSWORD``: never on a command line, in a message or in evidence.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg.conninfo import make_conninfo

from vecpatch.pgerrors import first_line
from vecpatch.redact import redact_text
from vecpatch.targets.conninfo import ConnInfo


@dataclass(frozen=True)
class Endpoint:
    """One database of one target as this run reaches it (holds the password: never print)."""

    target: str
    database: str
    info: ConnInfo = field(repr=False)
    application_name: str = "vecpatch apply"
    statement_timeout_ms: int | None = None
    """Overrides the target's scanning timeout for this run's sessions (verification of a
    large table, row counts): the update's own transaction sets its limit again locally."""

    @property
    def host(self) -> str:
        return str(self.info.params.get("host") or "localhost")

    @property
    def port(self) -> str:
        return str(self.info.params.get("port") or "5432")

    @property
    def secrets(self) -> tuple[str, ...]:
        return self.info.secrets

    def conninfo(self, dbname: str | None = None) -> str:
        params: dict[str, Any] = dict(self.info.params)
        params["dbname"] = dbname or self.database
        params["application_name"] = self.application_name
        if self.statement_timeout_ms is not None:
            extra = f"-c statement_timeout={self.statement_timeout_ms}"
            params["options"] = f"{params.get('options') or ''} {extra}".strip()
        return make_conninfo(**params)

    def connect(
        self, *, autocommit: bool = True, dbname: str | None = None
    ) -> psycopg.Connection[Any]:
        """A new session (a fresh backend: it has loaded nothing yet)."""
        return psycopg.connect(self.conninfo(dbname), autocommit=autocommit)

    def child_env(self, dbname: str | None = None) -> tuple[str, dict[str, str]]:
        """``(conninfo without password, environment with PGPASSWORD)`` for pg_dump & co."""
        params: dict[str, Any] = {
            k: v for k, v in self.info.params.items() if k not in ("password", "options")
        }
        params["dbname"] = dbname or self.database
        params["application_name"] = self.application_name
        env = dict(os.environ)
        env.pop("PGPASSWORD", None)
        password = self.info.params.get("password")
        if password:
            env["PGPASSWORD"] = password
        return make_conninfo(**params), env

    def clean(self, text: str) -> str:
        """Text fit for output, logs and evidence."""
        return redact_text(text, self.secrets)


def error_text(exc: BaseException, endpoint: Endpoint) -> str:
    """A one-line, secret-free description of a database or OS error."""
    return endpoint.clean(first_line(exc))
