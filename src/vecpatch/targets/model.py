"""The typed, frozen shape of targets: what to connect to and how to treat it.

Everything downstream (probe, scan, apply, rollout) receives these models, never
raw dicts, so a mistake in a targets file is a validation problem reported up
front rather than a KeyError in the middle of a fleet run.
"""

from __future__ import annotations

import re
import string
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import psycopg
from psycopg.conninfo import conninfo_to_dict
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr, field_validator

from vecpatch.platform.model import PlatformKind
from vecpatch.redact import REDACTED, redact_dsn
from vecpatch.targets.address import address_problems
from vecpatch.targets.errors import Problem
from vecpatch.targets.window import parse_windows

HOOK_PLACEHOLDERS = frozenset({"host", "pg_major", "version"})
_NAME = re.compile(r"^[\w/][\w.:/@+#-]*$")

CredentialKind = Literal["env", "file", "pgpass", "inline"]


class Credential(BaseModel):
    """Where a password comes from. Only ``inline`` holds the secret itself.

    Written in a targets file as ``"env:NAME"``, ``"file:PATH"``, ``"pgpass"``
    (libpq's own lookup, optionally ``"pgpass:PATH"`` for another passfile) or, if
    one must, the literal password (accepted, but ``validate`` warns about it).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: CredentialKind
    ref: str = ""
    """The variable name (env), path (file, pgpass) or empty."""
    value: SecretStr | None = None
    """The password itself; only for ``inline``."""

    @classmethod
    def parse(cls, raw: str) -> Credential:
        """Read the reference syntax used in targets files."""
        prefix, sep, rest = raw.partition(":")
        if sep and prefix == "env":
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", rest):
                raise ValueError(f"env: reference needs a variable name, got {rest!r}")
            return cls(kind="env", ref=rest)
        if sep and prefix == "file":
            if not rest:
                raise ValueError("file: reference needs a path")
            return cls(kind="file", ref=rest)
        if raw == "pgpass" or (sep and prefix == "pgpass"):
            return cls(kind="pgpass", ref=rest)
        if not raw:
            raise ValueError("empty password; omit the key to use .pgpass")
        return cls(kind="inline", value=SecretStr(raw))

    def describe(self) -> str:
        """How the secret is referenced, safe to print."""
        if self.kind == "inline":
            return f"inline {REDACTED}"
        return f"{self.kind}:{self.ref}" if self.ref else self.kind


def _to_credential(value: Any) -> Any:
    return Credential.parse(value) if isinstance(value, str) else value


def _check_dsn(dsn: str) -> str:
    try:
        params = conninfo_to_dict(dsn)
    except psycopg.ProgrammingError as exc:
        raise ValueError(f"not a valid connection string: {redact_dsn(str(exc))}") from None
    problems = address_problems(params)
    if problems:
        raise ValueError("; ".join(problems))
    return dsn


class Target(BaseModel):
    """One PostgreSQL server (cluster) to watch and patch, and how to treat it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    dsn: Annotated[str, BeforeValidator(lambda v: _check_dsn(v) if isinstance(v, str) else v)] = (
        Field(repr=False)
    )
    """libpq URI or ``key=value`` string; may be just ``service=NAME``."""
    environment: str | None = None
    password: Annotated[Credential | None, BeforeValidator(_to_credential)] = None
    """``None`` leaves it to libpq: ``.pgpass``, ``PGPASSWORD``, service file."""
    databases: Literal["all"] | tuple[str, ...] | None = None
    """``"all"``: every database that allows connections; ``None``: the DSN's own."""
    exclude_databases: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    wave: int | None = Field(default=None, ge=0)
    connect_timeout: int = Field(default=5, ge=1, le=3600)
    """Seconds (libpq ``connect_timeout``)."""
    statement_timeout: float = Field(default=30.0, gt=0, le=86400)
    """Seconds; bounds every statement vecpatch runs on the target."""
    lock_timeout: float = Field(default=5.0, gt=0, le=3600)
    """Seconds; how long DDL may wait for a lock before giving up."""
    reuse_scram_keys: bool = True
    """Derive the role's SCRAM keys once per server (libpq 18, a role that may read its own
    verifier in pg_authid) instead of once per database. ``false`` where reading pg_authid
    would trip an audit rule."""
    window: str | None = None
    """Maintenance window(s), e.g. ``"sat 02:00-04:00"``; see :mod:`.window`."""
    timezone: str = "UTC"
    platform: PlatformKind | None = None
    """Where the server runs (``debian``, ``rds``, ...): overrides what a scan infers."""
    host_command: str | None = None
    """How to run commands on the database host for host facts and package drivers:
    ``"local"`` (vecpatch runs there) or a prefix such as ``"ssh db1"``; unset: none."""
    package_hook: str | None = None
    """Command to install a pgvector build; ``{host}``, ``{pg_major}``, ``{version}``."""
    stakeholders: tuple[str, ...] = Field(default=(), repr=False)
    """Apprise URLs to notify; may embed tokens, so never printed in full."""

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError("use letters, digits and . _ - : / @ + # (no spaces)")
        return value

    @field_validator("environment")
    @classmethod
    def _environment(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[\w.-]+", value):
            raise ValueError("use letters, digits, '.', '_' or '-'")
        return value

    @field_validator("databases", mode="before")
    @classmethod
    def _databases(cls, value: Any) -> Any:
        if isinstance(value, str) and value != "all":
            raise ValueError('use "all" or a list of database names')
        if isinstance(value, list | tuple):
            if not value:
                raise ValueError("empty list; omit the key to use the DSN's database")
            if not all(isinstance(v, str) and v for v in value):
                raise ValueError("database names must be non-empty strings")
        return value

    @field_validator("window")
    @classmethod
    def _window(cls, value: str | None) -> str | None:
        if value is not None:
            parse_windows(value)
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name)") from None
        return value

    @field_validator("package_hook")
    @classmethod
    def _hook(cls, value: str | None) -> str | None:
        if value is None:
            return value
        names = {field for _, field, _, _ in string.Formatter().parse(value) if field is not None}
        unknown = names - HOOK_PLACEHOLDERS
        if unknown:
            allowed = ", ".join(f"{{{n}}}" for n in sorted(HOOK_PLACEHOLDERS))
            raise ValueError(f"unknown placeholder(s) {sorted(unknown)}; allowed: {allowed}")
        return value

    @field_validator("stakeholders")
    @classmethod
    def _stakeholders(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for url in value:
            if "://" not in url:
                raise ValueError("each stakeholder must be an apprise URL like 'mailto://…'")
        return value

    @property
    def display_dsn(self) -> str:
        """The DSN with any password replaced by ``***``."""
        return redact_dsn(self.dsn)

    @property
    def conninfo(self) -> dict[str, str]:
        """The DSN's parsed keywords (password included: do not print)."""
        return {k: str(v) for k, v in conninfo_to_dict(self.dsn).items()}


FailOn = Literal["none", "low", "medium", "high", "critical"]


class Settings(BaseModel):
    """Top-level ``[settings]``; unknown keys are kept (with a warning) for later features."""

    model_config = ConfigDict(frozen=True, extra="allow")

    history: str | None = None
    """SQLAlchemy URL or SQLite path of the history store."""
    fail_on: FailOn | None = None
    concurrency: int | None = Field(default=None, ge=1, le=1024)


class TargetsFile(BaseModel):
    """A loaded, validated targets file."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    path: Path | None = None
    settings: Settings = Settings()
    targets: tuple[Target, ...] = ()
    warnings: tuple[Problem, ...] = ()
