"""Facts built by hand for the pure assessment and planner tests.

The probe tests prove that real facts have this shape; these let a test state exactly the
versions and objects it is about.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from vecpatch.probe.facts import (
    DatabaseFacts,
    PgvectorFacts,
    Privileges,
    ServerFacts,
    TargetFacts,
    UpdatePath,
    VectorColumn,
    VectorIndex,
)

NOW = datetime(2026, 11, 25, tzinfo=UTC)
SUPERUSER = Privileges("postgres", True, True, True, True, True, True)


def server(version: str = "16.14", *, replica: bool = False, bits: int = 64) -> ServerFacts:
    major, minor = (int(p) for p in version.split("."))
    return ServerFacts(
        version_num=major * 10000 + minor,
        version=version,
        version_string=f"PostgreSQL {version} on x86_64-pc-linux-gnu, {bits}-bit",
        pointer_bits=bits,
        in_recovery=replica,
        data_checksums=False,
        started_at=NOW - timedelta(days=3),
        max_parallel_maintenance_workers=2,
        shared_preload_libraries="",
        replicas=0,
    )


def chain(installed: str, *versions: str) -> tuple[UpdatePath, ...]:
    """Update paths from ``installed`` to each later version along the given chain."""
    steps = [installed, *versions]
    return tuple(UpdatePath(v, tuple(steps[: i + 2])) for i, v in enumerate(versions))


def database(
    installed: str | None = "0.8.5",
    on_disk: str | None = "0.8.5",
    paths: tuple[UpdatePath, ...] = (),
    *,
    name: str = "app",
    privileges: Privileges = SUPERUSER,
    foreign: tuple[str, ...] = (),
    ivfflat: bool = False,
) -> DatabaseFacts:
    indexes = ()
    if ivfflat:
        indexes = (
            VectorIndex(
                "public",
                "items_emb_idx",
                "items",
                "ivfflat",
                ("vector_l2_ops",),
                ("emb",),
                ("lists=100",),
                8192,
                True,
                "CREATE INDEX items_emb_idx ON public.items USING ivfflat (emb vector_l2_ops)",
            ),
        )
    return DatabaseFacts(
        name=name,
        pgvector=PgvectorFacts(
            installed_version=installed,
            schema="public" if installed else None,
            owner="postgres" if installed else None,
            default_version=on_disk,
            available_versions=tuple(sorted({v for v in (on_disk,) if v})),
            update_paths=paths,
        ),
        columns=(VectorColumn("public", "items", "emb", "vector", 3, 10, 8192),),
        indexes=indexes,
        settings=(),
        extensions={"plpgsql": "1.0", **({"vector": installed} if installed else {})},
        languages=("plpgsql",),
        privileges=privileges,
        foreign_objects=foreign,
    )


def target(srv: ServerFacts, *dbs: DatabaseFacts, name: str = "t") -> TargetFacts:
    return TargetFacts(
        target=name,
        environment="test",
        host="db.example.internal",
        port="5432",
        probed_at=NOW,
        duration_seconds=0.1,
        server=srv,
        databases=dbs,
    )


__all__ = ["NOW", "SUPERUSER", "chain", "database", "replace", "server", "target"]
