"""Planning: facts + catalog + policy -> the exact, checked update path per database.

Pure: no I/O and no clock of its own. The same :class:`Plan` value feeds
``vecpatch plan`` (human, JSON, SQL), ``apply`` (which executes it) and the
evidence bundle, so what was shown is what runs.

Order matters and is encoded here: a PostgreSQL minor update (binaries + restart)
comes first, then the package step (new ``vector.so``, control file and scripts on
disk), then ``ALTER EXTENSION vector UPDATE`` per database from a fresh session.
They are never combined in one transaction.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any

from psycopg import sql

from vecpatch.catalog import queries as cq
from vecpatch.catalog.facts import ServerFacts as MatchFacts
from vecpatch.catalog.match import match
from vecpatch.catalog.model import Catalog, Product, Release
from vecpatch.catalog.versions import PgvectorVersion, PgVersion
from vecpatch.placeholders import fill
from vecpatch.platform.host import HostFacts, upstream
from vecpatch.platform.model import Platform, PlatformKind
from vecpatch.platform.steps import (
    minor_steps,
    offered_package_version,
    pgvector_steps,
    sandbox_minors,
    server_package,
)
from vecpatch.probe.facts import DatabaseFacts, ServerFacts, TargetFacts


class Policy(StrEnum):
    """How the target pgvector version is chosen."""

    LATEST = "latest"
    LATEST_PATCH = "latest-patch"
    MINIMUM_SAFE = "minimum-safe"
    PINNED = "pinned"


class Status(StrEnum):
    """What the plan says about one database."""

    UP_TO_DATE = "up-to-date"
    PLANNED = "planned"
    BLOCKED = "blocked"
    NOT_INSTALLED = "not-installed"
    REPLICA = "replica"


@dataclass(frozen=True)
class PlanPolicy:
    """The operator's choices: target version, release-age cooldown, package hook."""

    policy: Policy = Policy.LATEST
    pinned: str | None = None
    cooldown_days: int = 0
    security_bypass: bool = True
    package_hook: str | None = None
    driver: str | None = None
    """The target's built-in package driver (``apt``, ``dnf``), if any."""
    lock_timeout_ms: int = 2000
    statement_timeout_ms: int = 300_000


@dataclass(frozen=True)
class Hop:
    """One release passed on the way, with what it asks of the operator."""

    version: str
    date: date | None
    required_actions: tuple[str, ...]
    notes: tuple[str, ...]
    security_fixes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Action:
    """A step beyond ``ALTER EXTENSION``: SQL vecpatch runs, or a manual instruction."""

    kind: str  # "reindex", "manual", "note"
    description: str
    sql: str | None = None
    blocking: bool = False


@dataclass(frozen=True)
class PackageStep:
    """Getting the target version's files on disk on this server (and its replicas)."""

    version: str
    pg_major: str
    instructions: tuple[tuple[str, str], ...]
    hook_command: str | None = None
    platform: str = "unknown"
    """The platform the instructions are for (only its commands are listed)."""
    reachable: str | None = None
    """On a managed service: the newest pgvector this engine version offers (its files)."""
    exposed: tuple[str, ...] = ()
    """Advisories still open at ``reachable`` that ``version`` would fix."""
    package_version: str | None = None
    """The exact package version the host offers for ``version`` (host facts)."""
    driver: str | None = None
    """The built-in driver that will install ``package_version`` (needs it to be known)."""


@dataclass(frozen=True)
class PgMinorStep:
    """A PostgreSQL minor update: new binaries of the same major and a restart."""

    current: str
    target: str
    target_date: date | None
    cves_fixed: tuple[str, ...]
    commands: tuple[tuple[str, str], ...] = ()
    """This platform's commands, in order (install, restart); empty: none can reach it."""
    package_version: str | None = None
    """The exact package version the host offers for ``target`` (host facts)."""
    notes: tuple[str, ...] = ()
    """What the platform changes about the target: what it ships, what stays exposed."""


@dataclass(frozen=True)
class DatabasePlan:
    """The update of one database."""

    database: str
    status: Status
    installed: str | None
    target: str | None
    schema: str | None = None
    hops: tuple[Hop, ...] = ()
    path: tuple[str, ...] = ()
    collisions: tuple[str, ...] = ()
    actions: tuple[Action, ...] = ()
    blockers: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    needs_package: bool = False

    @property
    def sql(self) -> tuple[str, ...]:
        """The statements apply runs for this database, in order (also ``plan --sql``)."""
        if self.status is not Status.PLANNED or self.target is None:
            return ()
        return update_statements(self.target)


@dataclass(frozen=True)
class TargetPlan:
    """Everything to do on one server, in order."""

    target: str
    environment: str | None
    host: str
    port: str
    pg_version: str | None
    pg_minor: PgMinorStep | None
    package: PackageStep | None
    databases: tuple[DatabasePlan, ...]
    skipped: str | None = None
    on_replica: bool = False
    platform: str | None = None
    platform_evidence: tuple[str, ...] = ()

    @property
    def has_work(self) -> bool:
        return (
            self.pg_minor is not None
            or self.package is not None
            or any(d.status is Status.PLANNED for d in self.databases)
        )


@dataclass(frozen=True)
class Plan:
    """A whole plan."""

    created_at: datetime
    policy: PlanPolicy
    targets: tuple[TargetPlan, ...]
    catalog_generated_at: datetime | None = None
    warnings: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``plan --format json`` and the evidence bundle)."""
        data = _jsonable(asdict(self))
        for t_doc, t in zip(data["targets"], self.targets, strict=True):
            for d_doc, d in zip(t_doc["databases"], t.databases, strict=True):
                d_doc["sql"] = list(d.sql)
        data["schema_version"] = "1.0"
        result: dict[str, Any] = data
        return result


def update_statements(target: str) -> tuple[str, ...]:
    """The SQL of one extension update (rendered for display; apply binds the same)."""
    return (sql.SQL("ALTER EXTENSION vector UPDATE TO {}").format(sql.Literal(target)).as_string(),)


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, StrEnum):
        return value.value
    return value


@cache
def _step_objects() -> dict[str, dict[str, list[str]]]:
    text = resources.files("vecpatch.data").joinpath("pgvector_objects.json").read_text("utf-8")
    steps: dict[str, dict[str, list[str]]] = json.loads(text)["steps"]
    return steps


def created_objects(installed: str, target: str) -> set[str]:
    """``function:name(args)``/``type:name`` that the steps in (installed, target] create."""
    lo, hi = PgvectorVersion.parse(installed), PgvectorVersion.parse(target)
    found: set[str] = set()
    for step, objs in _step_objects().items():
        dst = PgvectorVersion.parse(step.split("--")[1])
        if lo < dst <= hi:
            found |= {f"function:{f}" for f in objs["functions"]}
            found |= {f"type:{t}" for t in objs["types"]}
    return found


# --------------------------------------------------------------------------------------------
# choosing the target version


def choose_target(
    catalog: Catalog,
    server: ServerFacts,
    facts: TargetFacts,
    installed: str,
    on_disk: str | None,
    policy: PlanPolicy,
    now: datetime,
) -> tuple[str | None, list[str]]:
    """The pgvector version this database should be on, and why (None: no candidate)."""
    major = PgVersion.parse(server.version).major
    current = PgvectorVersion.parse(installed)
    candidates = [r for r in cq.pgvector_for_major(catalog, major) if r.pgvector_version >= current]
    reasons: list[str] = []
    if policy.policy is Policy.PINNED:
        if policy.pinned is None:
            return None, ["pinned policy without a version"]
        pinned = PgvectorVersion.parse(policy.pinned)
        if pinned < current:
            return None, [f"pgvector has no downgrade scripts: {installed} -> {policy.pinned}"]
        return policy.pinned, [f"pinned to {policy.pinned}"]
    candidates = _cooled(candidates, policy, now, reasons)
    if not candidates:
        reasons.append(f"no release newer than {installed} supports PostgreSQL {major}")
        return installed, reasons
    if policy.policy is Policy.LATEST_PATCH:
        same = [r for r in candidates if _series(r.version) == _series(installed)]
        choice = same[-1] if same else None
        reasons.append(f"latest patch of the {_series(installed)} series")
    elif policy.policy is Policy.MINIMUM_SAFE:
        choice = _minimum_safe(catalog, server, facts, candidates, now)
        reasons.append("lowest release with no exposed advisory")
    else:
        choice = candidates[-1]
        reasons.append(f"latest release for PostgreSQL {major}")
    target = choice.version if choice else installed
    if on_disk and PgvectorVersion.parse(on_disk) > PgvectorVersion.parse(target):
        reasons.append(f"the library on disk is already {on_disk}; the catalog must match it")
        target = on_disk
    return target, reasons


def _series(version: str) -> str:
    return ".".join(version.split(".")[:2])


def _cooled(
    releases: list[Release], policy: PlanPolicy, now: datetime, reasons: list[str]
) -> list[Release]:
    if policy.cooldown_days <= 0:
        return releases
    cutoff = now.date() - timedelta(days=policy.cooldown_days)
    kept = [
        r
        for r in releases
        if (r.date is not None and r.date <= cutoff)
        or (policy.security_bypass and r.security_fixes)
    ]
    held = [r.version for r in releases if r not in kept]
    if held:
        reasons.append(f"held back by the {policy.cooldown_days}-day cooldown: {', '.join(held)}")
    return kept


def _minimum_safe(
    catalog: Catalog,
    server: ServerFacts,
    facts: TargetFacts,
    candidates: list[Release],
    now: datetime,
) -> Release | None:
    for rel in candidates:
        mf = MatchFacts(
            pg_version=PgVersion.parse(server.version),
            pgvector_version=rel.pgvector_version,
            pointer_bits=server.pointer_bits,
            extensions=facts.server_extensions(),
            languages=facts.server_languages(),
        )
        exposed = [
            m for m in match(catalog, mf, now=now) if m.product is Product.PGVECTOR and m.exposed
        ]
        if not exposed:
            return rel
    return candidates[-1] if candidates else None


# --------------------------------------------------------------------------------------------
# building the plan


def build_plan(
    facts: list[TargetFacts],
    catalog: Catalog,
    policy: PlanPolicy,
    now: datetime,
    hooks: Mapping[str, str] | None = None,
) -> Plan:
    """The plan for every probed target; ``hooks`` maps a target name to its package hook."""
    hooks = hooks or {}
    targets = []
    for f in facts:
        own = replace(policy, package_hook=hooks[f.target]) if f.target in hooks else policy
        targets.append(plan_target(f, catalog, own, now))
    return Plan(
        created_at=now,
        policy=policy,
        targets=tuple(targets),
        catalog_generated_at=catalog.generated_at,
    )


def plan_target(
    facts: TargetFacts, catalog: Catalog, policy: PlanPolicy, now: datetime
) -> TargetPlan:
    """One server: PostgreSQL minor step, package step, then each database."""
    server = facts.server
    base = TargetPlan(
        target=facts.target,
        environment=facts.environment,
        host=facts.host,
        port=facts.port,
        pg_version=server.version if server else None,
        pg_minor=None,
        package=None,
        databases=(),
    )
    if facts.failure is not None or server is None:
        reason = facts.failure.reason if facts.failure else "no facts"
        return replace(base, skipped=f"not scanned: {reason}")
    databases = tuple(
        plan_database(db, server, facts, catalog, policy, now) for db in facts.databases
    )
    if server.in_recovery:
        databases = tuple(_on_replica(d) for d in databases)
    needs = sorted(
        {d.target for d in databases if d.needs_package and d.target},
        key=PgvectorVersion.parse,
    )
    package = None
    if needs:
        package = package_step(
            needs[-1], PgVersion.parse(server.version).major, facts, policy, catalog, now
        )
    platform = server.platform or Platform(PlatformKind.UNKNOWN)
    return replace(
        base,
        pg_minor=pg_minor_step(catalog, server, facts.host_facts),
        package=package,
        databases=databases,
        on_replica=server.in_recovery,
        platform=platform.kind.value,
        platform_evidence=platform.evidence,
    )


def _on_replica(db: DatabasePlan) -> DatabasePlan:
    if db.status is not Status.PLANNED:
        return db
    return replace(
        db,
        status=Status.REPLICA,
        reasons=(*db.reasons, "standby: the catalog change arrives from the primary through WAL"),
    )


def plan_database(
    db: DatabaseFacts,
    server: ServerFacts,
    facts: TargetFacts,
    catalog: Catalog,
    policy: PlanPolicy,
    now: datetime,
) -> DatabasePlan:
    """One database's update: target, hops, path, collisions, actions, blockers."""
    pv = db.pgvector
    installed = pv.installed_version
    if installed is None:
        return DatabasePlan(db.name, Status.NOT_INSTALLED, None, None)
    target, reasons = choose_target(
        catalog, server, facts, installed, pv.default_version, policy, now
    )
    if target is None:
        return DatabasePlan(
            db.name, Status.BLOCKED, installed, None, pv.schema, blockers=tuple(reasons)
        )
    if target == installed:
        return DatabasePlan(
            db.name, Status.UP_TO_DATE, installed, target, pv.schema, reasons=tuple(reasons)
        )
    hops = tuple(
        Hop(r.version, r.date, r.required_actions, r.notes, r.security_fixes)
        for r in cq.releases_between(catalog, Product.PGVECTOR, installed, target)
    )
    on_disk = pv.default_version == target or target in pv.available_versions
    path = next((p.path for p in pv.update_paths if p.target == target), ())
    blockers: list[str] = []
    if on_disk and not path:
        blockers.append(f"no update path from {installed} to {target} in the scripts on disk")
    if pv.default_version and PgvectorVersion.parse(pv.default_version) > PgvectorVersion.parse(
        target
    ):
        blockers.append(
            f"the library on disk ({pv.default_version}) is newer than the target {target}"
        )
    collisions = tuple(sorted(set(db.foreign_objects) & created_objects(installed, target)))
    blockers += [f"{_object_label(c)} already exists in schema {pv.schema}" for c in collisions]
    actions = tuple(_actions(installed, target, db, server))
    blockers += [a.description for a in actions if a.blocking]
    if not db.privileges.can_update_extension:
        blockers.append(
            f"role {db.privileges.role} cannot ALTER EXTENSION vector (needs superuser "
            f"or membership in the extension owner {pv.owner})"
        )
    return DatabasePlan(
        database=db.name,
        status=Status.BLOCKED if blockers else Status.PLANNED,
        installed=installed,
        target=target,
        schema=pv.schema,
        hops=hops,
        path=path or _predicted_path(installed, target, hops),
        collisions=collisions,
        actions=actions,
        blockers=tuple(blockers),
        reasons=tuple(reasons),
        needs_package=not on_disk,
    )


def _object_label(sig: str) -> str:
    kind, _, name = sig.partition(":")
    return f"{kind} {name}"


def _predicted_path(installed: str, target: str, hops: tuple[Hop, ...]) -> tuple[str, ...]:
    return (installed, *[h.version for h in hops if h.version != installed]) if hops else ()


def _actions(installed: str, target: str, db: DatabaseFacts, server: ServerFacts) -> list[Action]:
    """Structured required actions for the releases crossed (from their upgrade notes)."""
    lo, hi = PgvectorVersion.parse(installed), PgvectorVersion.parse(target)
    major = server.version_num // 10000
    out: list[Action] = []
    if installed in ("0.2.7", "0.3.0") and hi >= PgvectorVersion.parse("0.3.1"):
        for idx in (i for i in db.indexes if i.method == "ivfflat"):
            stmt = sql.SQL("REINDEX INDEX CONCURRENTLY {}").format(
                sql.Identifier(idx.schema, idx.name)
            )
            out.append(
                Action(
                    "reindex",
                    f"rebuild IVFFlat index {idx.schema}.{idx.name} (0.3.1: inserts could "
                    "corrupt IVFFlat indexes built by 0.2.7/0.3.0)",
                    stmt.as_string(),
                )
            )
    if lo < PgvectorVersion.parse("0.4.0") <= hi and major < 13:
        out.append(
            Action(
                "manual",
                "PostgreSQL < 13: remove 'ALTER TYPE vector SET (STORAGE = extended);' from "
                "vector--0.3.2--0.4.0.sql before updating",
                blocking=True,
            )
        )
    if lo < PgvectorVersion.parse("0.6.0") <= hi and major == 12:
        out.append(
            Action(
                "manual",
                "PostgreSQL 12: remove 'ALTER TYPE vector SET (STORAGE = external);' from "
                "vector--0.5.1--0.6.0.sql before updating",
                blocking=True,
            )
        )
    if lo < PgvectorVersion.parse("0.8.3") <= hi and any(i.method == "hnsw" for i in db.indexes):
        out.append(
            Action(
                "note",
                "0.8.3 fixed possible HNSW index corruption during VACUUM under concurrent "
                "inserts; consider REINDEX INDEX CONCURRENTLY of HNSW indexes that showed "
                "'different vector dimensions' errors",
            )
        )
    if lo < PgvectorVersion.parse("0.8.6") <= hi and any(c.type == "sparsevec" for c in db.columns):
        out.append(
            Action(
                "note",
                "0.8.6: array-to-sparsevec casts reject more than 16,000 non-zero elements",
            )
        )
    return out


def pg_minor_step(
    catalog: Catalog, server: ServerFacts, host: HostFacts | None = None
) -> PgMinorStep | None:
    """The PostgreSQL minor update to the newest minor the platform can install.

    The catalog names the branch's latest release; a packaged platform installs only what
    its archive ships (Debian: 15.18 and 15.20, never 15.19), so with host facts the target
    is the newest offered package, and the plan says when that differs or falls short.
    """
    current = PgVersion.parse(server.version)
    latest = cq.latest_minor(catalog, current.major)
    wanted = latest.pg_version if latest is not None and latest.pg_version > current else None
    platform = server.platform or Platform(PlatformKind.UNKNOWN)
    offered = _offered_minors(platform, current, host)
    notes: list[str] = []
    exact: str | None = None
    target = wanted
    if offered is not None:
        newer = [v for v in offered if PgVersion.parse(upstream(v)) > current]
        if not newer:
            if wanted is None:
                return None
            notes.append(
                f"the host's repositories offer no {current.major} newer than {current}: "
                f"{wanted} cannot be installed there yet; the CVEs below stay open"
            )
            return _minor(catalog, current, wanted, latest, platform, None, notes, reachable=False)
        exact = newer[0]
        target = PgVersion.parse(upstream(exact))
        if wanted is not None and target < wanted:
            notes.append(f"the host offers at most {target}; {wanted} is not packaged there")
        elif wanted is None or target > wanted:
            notes.append(f"the host offers {target} (the catalog knows {wanted or current})")
    elif platform.kind in (PlatformKind.DEBIAN, PlatformKind.UBUNTU, PlatformKind.PGDG_APT):
        notes.append(
            f"the archive decides the exact version (apt-cache policy postgresql-{current.major}); "
            "host facts not read: set host_command to check"
        )
    if target is None:
        return None
    return _minor(catalog, current, target, latest, platform, exact, notes, reachable=True)


def _offered_minors(
    platform: Platform, current: PgVersion, host: HostFacts | None
) -> tuple[str, ...] | None:
    if platform.kind is PlatformKind.SANDBOX:
        return sandbox_minors(current.major)
    package = server_package(platform.kind, current.major)
    offer = host.package(package) if host is not None and package else None
    return offer.versions if offer is not None and offer.versions else None


def _minor(
    catalog: Catalog,
    current: PgVersion,
    target: PgVersion,
    latest: Release | None,
    platform: Platform,
    exact: str | None,
    notes: list[str],
    *,
    reachable: bool,
) -> PgMinorStep:
    fixed = [
        (adv.id, PgVersion.parse(first)) for adv, first in cq.fixed_since(catalog, str(current))
    ]
    closed = tuple(i for i, first in fixed if first <= target)
    still = [i for i, first in fixed if first > target]
    if still and reachable:
        notes.append(f"stays exposed after {target}: {', '.join(still)}")
    on_date = latest.date if latest is not None and latest.pg_version == target else None
    commands = minor_steps(platform, str(target), current.major, exact) if reachable else ()
    return PgMinorStep(
        str(current), str(target), on_date, closed if reachable else tuple(i for i, _ in fixed),
        commands, exact, tuple(notes),
    )  # fmt: skip


def package_step(
    version: str,
    pg_major: str,
    facts: TargetFacts,
    policy: PlanPolicy,
    catalog: Catalog | None = None,
    now: datetime | None = None,
) -> PackageStep:
    """How to get pgvector ``version`` on disk for ``pg_major`` on this target's platform
    (or its hook); on a managed service, what the engine offers and what stays exposed."""
    hook = None
    if policy.package_hook:
        values = {"host": facts.host, "pg_major": pg_major, "version": version}
        hook = fill(policy.package_hook, values)
    server = facts.server
    platform = (server.platform if server else None) or Platform(PlatformKind.UNKNOWN)
    on_server = next((d.pgvector.default_version for d in facts.databases), None)
    reachable: str | None = None
    exposed: tuple[str, ...] = ()
    exact = offered_package_version(platform, version, pg_major, facts.host_facts)
    if platform.kind.managed:
        reachable = on_server
        if catalog is not None and now is not None and server is not None and on_server:
            exposed = _exposed_at(catalog, server, facts, on_server, now)
    return PackageStep(
        version=version,
        pg_major=pg_major,
        instructions=pgvector_steps(platform, version, pg_major, facts.host_facts, on_server),
        hook_command=hook,
        platform=platform.kind.value,
        reachable=reachable,
        exposed=exposed,
        package_version=exact,
        driver=policy.driver if exact else None,
    )


def _exposed_at(
    catalog: Catalog, server: ServerFacts, facts: TargetFacts, version: str, now: datetime
) -> tuple[str, ...]:
    mf = MatchFacts(
        pg_version=PgVersion.parse(server.version),
        pgvector_version=PgvectorVersion.parse(version),
        pointer_bits=server.pointer_bits,
        extensions=facts.server_extensions(),
        languages=facts.server_languages(),
    )
    found = match(catalog, mf, now=now)
    return tuple(m.advisory.id for m in found if m.product is Product.PGVECTOR and m.exposed)
