"""Turn the probe queries' JSON documents into immutable facts.

Kept apart from the I/O so that it can be tested on recorded documents and so a
malformed document fails here, loudly, rather than deep in the assessment.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from vecpatch.probe.facts import (
    DatabaseFacts,
    PgvectorFacts,
    Privileges,
    RoleSetting,
    ServerFacts,
    UpdatePath,
    VectorColumn,
    VectorIndex,
)


def pointer_bits(version_string: str, int8_byval: bool) -> int:
    """32 or 64: ``version()`` ends in ``NN-bit``; by-value int8 confirms a 64-bit build."""
    tail = version_string.rsplit(",", 1)[-1].strip()
    if tail.endswith("-bit") and tail[:-4].isdigit():
        return int(tail[:-4])
    return 64 if int8_byval else 32


def server_facts(doc: dict[str, Any]) -> ServerFacts:
    """Build :class:`ServerFacts` from the ``SERVER`` query's document."""
    lag = doc.get("replay_lag_seconds")
    return ServerFacts(
        version_num=int(doc["version_num"]),
        version=str(doc["version"]).split()[0],
        version_string=str(doc["version_string"]),
        pointer_bits=pointer_bits(str(doc["version_string"]), bool(doc["int8_byval"])),
        in_recovery=bool(doc["in_recovery"]),
        data_checksums=bool(doc["data_checksums"]),
        started_at=datetime.fromisoformat(str(doc["started_at"])),
        max_parallel_maintenance_workers=int(doc["max_parallel_maintenance_workers"]),
        shared_preload_libraries=_optional_str(doc.get("shared_preload_libraries")),
        replicas=int(doc["replicas"]),
        replay_lag_seconds=float(lag) if lag is not None else None,
    )


def database_names(rows: Iterable[Sequence[Any]]) -> tuple[list[str], tuple[str, ...]]:
    """From the ``DATABASES`` rows: the connectable databases (in query order), and every
    database on the server, connectable or not, sorted."""
    pairs = [(str(row[0]), bool(row[1])) for row in rows]
    return [name for name, allowed in pairs if allowed], tuple(sorted(n for n, _ in pairs))


def database_facts(doc: dict[str, Any], package: dict[str, Any]) -> DatabaseFacts:
    """Build :class:`DatabaseFacts` from the ``DATABASE`` and (per server) ``PACKAGE`` documents."""
    vector = doc.get("vector") or {}
    installed = vector.get("version")
    pgvector = PgvectorFacts(
        installed_version=installed,
        schema=vector.get("schema"),
        owner=vector.get("owner"),
        default_version=package.get("default_version"),
        available_versions=tuple(sorted(package.get("available_versions") or ())),
        update_paths=tuple(
            UpdatePath(target=p["target"], path=tuple(p["path"].split("--")))
            for p in package.get("update_paths") or ()
            if installed is not None and p["source"] == installed
        ),
    )
    return DatabaseFacts(
        name=str(doc["name"]),
        pgvector=pgvector,
        columns=tuple(VectorColumn(**c) for c in doc["columns"]),
        indexes=tuple(_index(i) for i in doc["indexes"]),
        settings=tuple(RoleSetting(**s) for s in doc["settings"]),
        extensions=dict(doc["extensions"]),
        languages=tuple(doc["languages"]),
        privileges=Privileges(**doc["privileges"]),
        foreign_objects=tuple(doc.get("foreign_objects") or ()),
    )


def _index(doc: dict[str, Any]) -> VectorIndex:
    return VectorIndex(
        schema=doc["schema"],
        name=doc["name"],
        table=doc["table"],
        method=doc["method"],
        opclasses=tuple(doc.get("opclasses") or ()),
        columns=tuple(doc.get("columns") or ()),
        options=tuple(doc.get("options") or ()),
        bytes=int(doc["bytes"]),
        valid=bool(doc["valid"]),
        definition=doc["definition"],
    )


def _optional_str(value: Any) -> str | None:
    return None if value is None else str(value)
