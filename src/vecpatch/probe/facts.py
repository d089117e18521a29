"""Immutable snapshots of what a probe saw on a server and in each database.

The assessment, the planner and the history store all consume these, never a live
connection, so they are plain frozen dataclasses that round-trip through JSON.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from vecpatch.platform.model import Platform


class FailureKind(StrEnum):
    """Why a target or database could not be read (reported as data, never raised)."""

    UNREACHABLE = "UNREACHABLE"
    AUTH_FAILED = "AUTH_FAILED"
    INSUFFICIENT_PRIVILEGE = "INSUFFICIENT_PRIVILEGE"
    CONFIG = "CONFIG"


@dataclass(frozen=True)
class Failure:
    """A target or database that could not be probed, and why (secrets already removed)."""

    kind: FailureKind
    reason: str


@dataclass(frozen=True)
class ServerFacts:
    """Facts that are the same in every database of one server."""

    version_num: int
    version: str
    version_string: str
    pointer_bits: int
    in_recovery: bool
    data_checksums: bool
    started_at: datetime
    max_parallel_maintenance_workers: int
    shared_preload_libraries: str | None
    """``None`` when the scanning role may not read it (needs pg_read_all_settings)."""
    replicas: int
    replay_lag_seconds: float | None = None
    platform: Platform | None = None
    """Where the server runs and why we think so (``None``: not probed)."""

    @property
    def major(self) -> int:
        """The PostgreSQL major (16 for 16.4; 9 for 9.6 is never seen: pgvector needs 12+)."""
        return self.version_num // 10000


@dataclass(frozen=True)
class UpdatePath:
    """One update path from the installed version, as ``pg_extension_update_paths`` gives it."""

    target: str
    path: tuple[str, ...]


@dataclass(frozen=True)
class PgvectorFacts:
    """The extension in one database, and what the files on disk offer."""

    installed_version: str | None
    schema: str | None
    owner: str | None
    default_version: str | None
    available_versions: tuple[str, ...]
    update_paths: tuple[UpdatePath, ...]

    @property
    def installed(self) -> bool:
        return self.installed_version is not None

    @property
    def on_disk(self) -> bool:
        return self.default_version is not None


@dataclass(frozen=True)
class VectorColumn:
    """A column of a pgvector type (or a ``bit`` column that a pgvector index uses)."""

    schema: str
    table: str
    column: str
    type: str
    dimensions: int | None
    rows: int | None
    table_bytes: int


@dataclass(frozen=True)
class VectorIndex:
    """An HNSW or IVFFlat index."""

    schema: str
    name: str
    table: str
    method: str
    opclasses: tuple[str, ...]
    columns: tuple[str | None, ...]
    options: tuple[str, ...]
    bytes: int
    valid: bool
    definition: str


@dataclass(frozen=True)
class RoleSetting:
    """A database- or role-level ``hnsw.*``/``ivfflat.*`` default (``ALTER DATABASE/ROLE SET``)."""

    database: str | None
    role: str | None
    name: str
    value: str


@dataclass(frozen=True)
class Privileges:
    """What the connecting role may do; decides whether apply can work and what a scan can see."""

    role: str
    superuser: bool
    can_update_extension: bool
    can_create_in_database: bool
    read_all_stats: bool
    signal_backend: bool
    read_server_files: bool


@dataclass(frozen=True)
class DatabaseFacts:
    """Everything a scan learns about one database."""

    name: str
    pgvector: PgvectorFacts
    columns: tuple[VectorColumn, ...]
    indexes: tuple[VectorIndex, ...]
    settings: tuple[RoleSetting, ...]
    extensions: dict[str, str]
    languages: tuple[str, ...]
    privileges: Privileges
    foreign_objects: tuple[str, ...] = ()
    """Functions (``function:name(args)``) and types (``type:name``) in pgvector's schema that
    do not belong to it: an update that creates the same object fails, so plans name them."""


@dataclass(frozen=True)
class DatabaseFailure:
    """A database of a reachable server that could not be read."""

    name: str
    failure: Failure


@dataclass(frozen=True)
class TargetFacts:
    """One target's probe: its server, its databases, and what could not be read."""

    target: str
    environment: str | None
    host: str
    port: str
    probed_at: datetime
    duration_seconds: float
    server: ServerFacts | None = None
    databases: tuple[DatabaseFacts, ...] = ()
    failed_databases: tuple[DatabaseFailure, ...] = ()
    failure: Failure | None = None
    tags: tuple[str, ...] = field(default=())
    server_databases: tuple[str, ...] = ()
    """Every database on the server at probe time, sorted: connectable or not, selected or
    not (what exists, not what was scanned). Empty when unknown (unreachable target)."""
    server_id: str = ""
    """The server's stable identity (:mod:`vecpatch.probe.identity`); empty when unreachable."""

    @property
    def reachable(self) -> bool:
        return self.failure is None

    def server_extensions(self) -> frozenset[str]:
        """Extensions installed in any database (advisory component conditions are per server)."""
        return frozenset(name for db in self.databases for name in db.extensions)

    def server_languages(self) -> frozenset[str]:
        return frozenset(lang for db in self.databases for lang in db.languages)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (datetimes as ISO strings)."""
        result: dict[str, Any] = _jsonable(asdict(self))
        return result


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value
