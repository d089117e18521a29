"""Turn a Target into what psycopg needs, resolving password references.

A failure here (a missing variable, an unreadable secret file) is returned as a
:class:`ConnInfoError` value, not raised: one misconfigured target must not stop
a scan of the rest of the fleet. Whatever libpq can do itself (``.pgpass``,
``PG*`` variables, service files) is left to libpq.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from psycopg.conninfo import make_conninfo

from vecpatch.redact import redact_dsn, redact_text
from vecpatch.targets.model import Credential, Target

APPLICATION_NAME = "vecpatch"


@dataclass(frozen=True)
class ConnInfo:
    """Connection keywords for one target (and database). Holds the password: never print."""

    target: str
    params: Mapping[str, str] = field(repr=False)
    secrets: tuple[str, ...] = field(default=(), repr=False)
    """Secret values resolved for this target, for :func:`vecpatch.redact.redact_text`."""

    @property
    def conninfo(self) -> str:
        """A libpq connection string for ``psycopg.connect``."""
        return make_conninfo(**self.params)

    @property
    def dbname(self) -> str | None:
        return self.params.get("dbname")

    def redacted(self) -> str:
        """The connection string with secrets masked, fit for logs and errors."""
        return redact_text(self.conninfo, self.secrets)

    def for_database(self, dbname: str) -> ConnInfo:
        """The same server and credentials, connected to another database."""
        return replace(self, params={**self.params, "dbname": dbname})

    def __str__(self) -> str:
        return f"{self.target}: {self.redacted()}"


@dataclass(frozen=True)
class ConnInfoError:
    """Why a target could not be turned into connection parameters."""

    target: str
    reason: str


def _secret(cred: Credential, environ: Mapping[str, str]) -> tuple[str | None, str | None]:
    """``(password, error)`` for a credential reference; None password means "libpq's job"."""
    if cred.kind == "inline":
        return (cred.value.get_secret_value() if cred.value else None), None
    if cred.kind == "env":
        value = environ.get(cred.ref)
        if not value:
            state = "is empty" if value == "" else "is not set"
            return None, f"password variable {cred.ref} {state}"
        return value, None
    if cred.kind == "file":
        try:
            value = Path(cred.ref).expanduser().read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            return None, f"cannot read password file {cred.ref}: {exc.strerror}"
        if not value:
            return None, f"password file {cred.ref} is empty"
        return value, None
    return None, None


def unresolved(cred: Credential, environ: Mapping[str, str] = os.environ) -> str | None:
    """Why *cred* cannot be resolved right now, naming the variable or file but never a value."""
    return _secret(cred, environ)[1]


def _options(existing: str | None, target: Target) -> str:
    """Append session timeouts to any ``options`` already in the DSN."""
    statement_ms = round(target.statement_timeout * 1000)
    lock_ms = round(target.lock_timeout * 1000)
    ours = f"-c statement_timeout={statement_ms} -c lock_timeout={lock_ms}"
    return f"{existing} {ours}" if existing else ours


def resolve_conninfo(
    target: Target, environ: Mapping[str, str] = os.environ
) -> ConnInfo | ConnInfoError:
    """Connection parameters for *target*, or the reason they cannot be built.

    Values already in the DSN win over target defaults (an explicit
    ``connect_timeout`` or ``application_name`` in a DSN is the operator's choice).
    """
    params = target.conninfo
    secrets = [params["password"]] if params.get("password") else []
    if target.password is not None:
        password, error = _secret(target.password, environ)
        if error:
            return ConnInfoError(target.name, redact_dsn(error))
        if password is not None:
            params["password"] = password
            secrets.append(password)
        if target.password.kind == "pgpass" and target.password.ref:
            params["passfile"] = str(Path(target.password.ref).expanduser())
    params.setdefault("application_name", APPLICATION_NAME)
    params.setdefault("connect_timeout", str(target.connect_timeout))
    params["options"] = _options(params.get("options"), target)
    return ConnInfo(target.name, params, tuple(secrets))
