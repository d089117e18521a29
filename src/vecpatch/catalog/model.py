"""The catalog's immutable domain model: products, releases, advisories.

Values here are built once at the boundary (snapshot, cache, feeds) and never
mutated, so matching and queries can be pure functions over them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from vecpatch.catalog.conditions import Condition
from vecpatch.catalog.cvss import Cvss, Severity
from vecpatch.catalog.versions import PgvectorVersion, PgVersion, VersionRange


class Product(StrEnum):
    """What vecpatch keeps patched."""

    PGVECTOR = "pgvector"
    POSTGRESQL = "postgresql"


@dataclass(frozen=True)
class Release:
    """One release of a product.

    ``pg_min``/``pg_max`` are the PostgreSQL majors a pgvector release supports
    (None for PostgreSQL releases). ``required_actions`` are steps an upgrade that
    passes through this release must take (REINDEX, script edits, manual fixes).
    """

    product: Product
    version: str
    date: date | None
    notes: tuple[str, ...] = ()
    required_actions: tuple[str, ...] = ()
    security_fixes: tuple[str, ...] = ()
    pg_min: str | None = None
    pg_max: str | None = None
    out_of_cycle: bool = False

    @property
    def pg_version(self) -> PgVersion:
        return PgVersion.parse(self.version)

    @property
    def pgvector_version(self) -> PgvectorVersion:
        return PgvectorVersion.parse(self.version)

    @property
    def key(self) -> tuple[str, str]:
        return (self.product.value, self.version)


@dataclass(frozen=True)
class AffectedRange:
    """One affected range of one product; for PostgreSQL, one branch (major).

    ``pg_major`` is None for pgvector, and for a PostgreSQL range that has no lower
    bound (it then spans every older branch).
    """

    product: Product
    range: VersionRange[Any]
    pg_major: str | None = None

    @property
    def fixed(self) -> str | None:
        return None if self.range.fixed is None else str(self.range.fixed)


@dataclass(frozen=True)
class Reference:
    type: str
    url: str


@dataclass(frozen=True)
class Advisory:
    """An OSV 1.7 vulnerability record, reduced to what vecpatch reasons about.

    ``record`` keeps the (sanitized) OSV document so output and merging round-trip
    fields we do not model.
    """

    id: str
    summary: str
    published: datetime | None
    modified: datetime | None
    aliases: tuple[str, ...] = ()
    details: str = ""
    cvss: tuple[Cvss, ...] = ()
    score: float | None = None
    severity: Severity = Severity.UNKNOWN
    affected: tuple[AffectedRange, ...] = ()
    affected_versions: tuple[str, ...] = ()
    references: tuple[Reference, ...] = ()
    conditions: tuple[Condition, ...] = ()
    mitigations: tuple[str, ...] = ()
    component: str | None = None
    fix_date: date | None = None
    withdrawn: datetime | None = None
    cwe_ids: tuple[str, ...] = ()
    record: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def products(self) -> frozenset[Product]:
        return frozenset(a.product for a in self.affected)

    @property
    def ids(self) -> frozenset[str]:
        """The id and every alias, for lookups by any of them."""
        return frozenset((self.id, *self.aliases))


@dataclass(frozen=True)
class MajorInfo:
    """A PostgreSQL major's life cycle."""

    major: str
    eol: date | None
    first_release: date | None = None


@dataclass(frozen=True)
class DistroPackage:
    """What one distro suite ships of one package, and the evidence for it.

    ``upstream`` is the PostgreSQL or pgvector version inside the Debian version;
    ``date`` is the upload date from the package's changelog (None if unread).
    """

    distro: str
    suite: str
    package: str
    version: str
    upstream: str
    date: date | None = None
    cves: tuple[str, ...] = ()
    source: str = ""

    @property
    def key(self) -> str:
        return f"{self.distro}/{self.suite}/{self.package}"


@dataclass(frozen=True)
class Catalog:
    """Everything known: releases, advisories, majors, and how old that knowledge is.

    ``generated_at`` is how current the knowledge is: the newest release date it
    knows, or the last time a feed returned data, whichever is later (never the
    date a file was written: a snapshot rebuilt today from old data is old);
    ``built_at`` is when the document was written; ``first_seen`` maps advisory ids and
    ``product:version`` release keys to the date vecpatch first knew them.
    """

    releases: tuple[Release, ...]
    advisories: tuple[Advisory, ...]
    majors: Mapping[str, MajorInfo]
    generated_at: datetime
    snapshot_generated_at: datetime
    first_seen: Mapping[str, date] = field(default_factory=lambda: MappingProxyType({}))
    sources: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    distro_packages: tuple[DistroPackage, ...] = ()
    built_at: datetime | None = None

    def advisory(self, ident: str) -> Advisory | None:
        """Find an advisory by its id or any alias."""
        for adv in self.advisories:
            if ident in adv.ids:
                return adv
        return None
