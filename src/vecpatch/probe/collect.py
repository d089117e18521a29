"""Probe targets concurrently: one connection and one query per database.

Every connection is read-only (``default_transaction_read_only``), bounded by a
connect timeout and a statement timeout, and tagged ``application_name=vecpatch``.
Nothing raises out of here: an unreachable target or database becomes a
:class:`~vecpatch.probe.facts.Failure` with a reason from which secrets were removed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from vecpatch.platform.detect import configured, detect
from vecpatch.platform.model import Platform, PlatformKind, PlatformMarkers
from vecpatch.probe import queries, scram
from vecpatch.probe.errors import classify
from vecpatch.probe.facts import (
    DatabaseFacts,
    DatabaseFailure,
    Failure,
    ServerFacts,
    TargetFacts,
)
from vecpatch.probe.identity import server_identity
from vecpatch.probe.parse import database_facts, database_names, server_facts
from vecpatch.probe.platform import read_markers

Databases = Literal["all"] | tuple[str, ...] | None


@dataclass(frozen=True)
class ProbeRequest:
    """What to probe. ``conninfo`` may carry a password: it is never printed or stored."""

    target: str
    conninfo: str
    databases: Databases = None
    exclude: tuple[str, ...] = ()
    environment: str | None = None
    tags: tuple[str, ...] = ()
    connect_timeout: float = 5.0
    statement_timeout: float = 30.0
    reuse_scram_keys: bool = True
    secrets: tuple[str, ...] = field(default=(), repr=False)
    failure: Failure | None = None
    platform: PlatformKind | None = None
    """The targets file's ``platform``: overrides what detection infers."""


def session_conninfo(
    req: ProbeRequest, dbname: str | None = None, keys: scram.ScramKeys | None = None
) -> str:
    """The conninfo for one read-only probe session (``dbname`` overrides the DSN's;
    ``keys`` replace the password)."""
    params = conninfo_to_dict(req.conninfo)
    options = str(params.get("options") or "")
    extra = (
        f"-c default_transaction_read_only=on "
        f"-c statement_timeout={int(req.statement_timeout * 1000)} "
        f"-c lock_timeout={int(req.statement_timeout * 1000)}"
    )
    overrides: dict[str, Any] = {
        "application_name": "vecpatch",
        "connect_timeout": max(1, round(req.connect_timeout)),
        "options": f"{options} {extra}".strip(),
    }
    if dbname is not None:
        overrides["dbname"] = dbname
    if keys is not None:
        overrides.update(keys.conninfo())
    return make_conninfo(req.conninfo, **overrides)


def _endpoint(conninfo: str) -> tuple[str, str]:
    try:
        params = conninfo_to_dict(conninfo)
    except psycopg.ProgrammingError:
        return "?", "?"
    return str(params.get("host") or "local"), str(params.get("port") or "5432")


class _Probe:
    """The probe of one target; connections are limited by a fleet-wide semaphore."""

    def __init__(self, req: ProbeRequest, limit: asyncio.Semaphore) -> None:
        self.req = req
        self.limit = limit
        self.package: dict[str, Any] = {}
        self.keys: scram.ScramKeys | None = None
        self.server_id = ""
        self._used_keys: tuple[str, ...] = ()
        """Every key this probe tried: redacted from reasons even after they were dropped."""

    async def _connect(self, dbname: str | None) -> psycopg.AsyncConnection[Any]:
        keys = self.keys
        if keys is not None:
            try:
                return await self._open(session_conninfo(self.req, dbname, keys))
            except psycopg.OperationalError as exc:
                if not scram.refused(exc):
                    raise
                # Another auth method for this database: the password works wherever the
                # keys do not; stop trying them on this server.
                if self.keys is keys:
                    self.keys = None
        return await self._open(session_conninfo(self.req, dbname))

    async def _open(self, conninfo: str) -> psycopg.AsyncConnection[Any]:
        return await asyncio.wait_for(
            psycopg.AsyncConnection.connect(conninfo, autocommit=True),
            timeout=self.req.connect_timeout + 1,
        )

    async def _derive_keys(self, conn: psycopg.AsyncConnection[Any], others: int) -> None:
        """SCRAM keys for the other databases, when there are some and it is provably safe."""
        params = conninfo_to_dict(self.req.conninfo)
        password = str(params.get("password") or "")
        single_host = "," not in str(params.get("host") or "")
        if others < 2 or not password or not single_host or not self.req.reuse_scram_keys:
            return
        try:
            keys = await scram.read_keys(conn, password)
        except psycopg.Error:
            return
        if keys is None:
            return
        self._used_keys = keys.secrets
        try:  # one pilot connection: a pooler with its own salt refuses them once, not N times
            pilot = await self._open(session_conninfo(self.req, None, keys))
        except (psycopg.Error, OSError, TimeoutError):
            return  # whatever the reason, the password still works: no keys for this server
        await pilot.close()
        self.keys = keys

    async def _fetch(self, conn: psycopg.AsyncConnection[Any], query: Any) -> Any:
        cur = await conn.execute(query)
        row = await cur.fetchone()
        return row[0] if row else None

    async def first(self) -> tuple[ServerFacts, list[str], tuple[str, ...], DatabaseFacts]:
        """Server facts, the connectable databases, every database on the server, and (for
        free) the first database's facts."""
        async with self.limit:
            conn = await self._connect(None)
            async with conn:
                server = server_facts(await self._fetch(conn, queries.SERVER))
                server = replace(server, platform=self._platform(await read_markers(conn)))
                self.server_id = await server_identity(conn, *_endpoint(self.req.conninfo))
                rows = await (await conn.execute(queries.DATABASES)).fetchall()
                names, existing = database_names(rows)
                await self._derive_keys(conn, self._visits(names))
                self.package = await self._fetch(conn, queries.PACKAGE)
                own = database_facts(await self._fetch(conn, queries.DATABASE), self.package)
        return server, names, existing, own

    async def database(self, name: str) -> DatabaseFacts | DatabaseFailure:
        async with self.limit:
            try:
                conn = await self._connect(name)
                async with conn:
                    doc = await self._fetch(conn, queries.DATABASE)
                    return database_facts(doc, self.package)
            except (psycopg.Error, OSError, TimeoutError) as exc:
                return DatabaseFailure(name, classify(exc, self._secrets()))

    async def run(self) -> TargetFacts:
        started = time.perf_counter()
        host, port = _endpoint(self.req.conninfo)
        base = TargetFacts(
            target=self.req.target,
            environment=self.req.environment,
            tags=self.req.tags,
            host=host,
            port=port,
            probed_at=datetime.now(UTC),
            duration_seconds=0.0,
        )
        if self.req.failure is not None:
            return replace(base, failure=self.req.failure)
        try:
            server, names, existing, own = await self.first()
        except (psycopg.Error, OSError, TimeoutError) as exc:
            failure = classify(exc, self.req.secrets)
            return replace(base, duration_seconds=time.perf_counter() - started, failure=failure)
        wanted = self._wanted(names, own)
        others = [n for n in wanted if n != own.name]
        results = await asyncio.gather(*(self.database(n) for n in others))
        found = [own] if own.name in wanted else []
        found += [r for r in results if isinstance(r, DatabaseFacts)]
        order = {n: i for i, n in enumerate(wanted)}
        return replace(
            base,
            duration_seconds=time.perf_counter() - started,
            server=server,
            databases=tuple(sorted(found, key=lambda d: order.get(d.name, 0))),
            failed_databases=tuple(r for r in results if isinstance(r, DatabaseFailure)),
            server_databases=existing,
            server_id=self.server_id,
        )

    def _platform(self, markers: PlatformMarkers) -> Platform:
        found = detect(markers)
        return configured(self.req.platform, found) if self.req.platform else found

    def _visits(self, names: list[str]) -> int:
        """How many databases this probe will connect to after the first."""
        spec = self.req.databases
        return 0 if spec is None else len(names) if spec == "all" else len(spec)

    def _secrets(self) -> tuple[str, ...]:
        return self.req.secrets + self._used_keys

    def _wanted(self, names: list[str], own: DatabaseFacts) -> list[str]:
        spec = self.req.databases
        if spec == "all":
            chosen = names
        elif spec is None:
            chosen = [own.name]
        else:
            chosen = list(spec)
        return [n for n in chosen if n not in self.req.exclude]


async def probe_target(req: ProbeRequest, limit: asyncio.Semaphore | None = None) -> TargetFacts:
    """Probe one target (all its requested databases)."""
    return await _Probe(req, limit or asyncio.Semaphore(32)).run()


async def probe_fleet(
    requests: Sequence[ProbeRequest],
    concurrency: int = 32,
    on_done: Callable[[TargetFacts], None] | None = None,
) -> list[TargetFacts]:
    """Probe every target with at most ``concurrency`` connections open at once.

    Results come back in the order of ``requests``; ``on_done`` sees each as it
    finishes (for progress bars).
    """
    limit = asyncio.Semaphore(max(1, concurrency))

    async def one(req: ProbeRequest) -> TargetFacts:
        facts = await probe_target(req, limit)
        if on_done is not None:
            on_done(facts)
        return facts

    return list(await asyncio.gather(*(one(r) for r in requests)))


def probe_fleet_sync(
    requests: Sequence[ProbeRequest],
    concurrency: int = 32,
    on_done: Callable[[TargetFacts], None] | None = None,
) -> list[TargetFacts]:
    """Blocking wrapper for the CLI."""
    return asyncio.run(probe_fleet(requests, concurrency, on_done))
