"""Questions other modules ask the catalog (planning, reports, dashboards).

All pure functions of a :class:`Catalog` and, where time matters, an explicit date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from vecpatch.catalog.model import Advisory, Catalog, Product, Release
from vecpatch.catalog.versions import PgvectorVersion, PgVersion, pg_major_key


class EolState(StrEnum):
    SUPPORTED = "supported"
    EOL_SOON = "eol-soon"
    EOL = "eol"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class EolStatus:
    major: str
    eol_date: date | None
    state: EolState
    days_left: int | None

    def describe(self) -> str:
        if self.state is EolState.UNKNOWN:
            return f"PostgreSQL {self.major}: end-of-life date unknown"
        if self.state is EolState.EOL:
            return f"PostgreSQL {self.major}: end-of-life since {self.eol_date}"
        if self.state is EolState.EOL_SOON:
            return (
                f"PostgreSQL {self.major}: end-of-life on {self.eol_date} ({self.days_left} days)"
            )
        return f"PostgreSQL {self.major}: supported until {self.eol_date}"


def pgvector_releases(catalog: Catalog, *, include_prereleases: bool = False) -> list[Release]:
    """pgvector releases, oldest first."""
    rels = [r for r in catalog.releases if r.product is Product.PGVECTOR]
    rels = [r for r in rels if include_prereleases or not r.pgvector_version.is_prerelease]
    return sorted(rels, key=lambda r: r.pgvector_version)


def pg_releases(catalog: Catalog, major: str | None = None) -> list[Release]:
    """PostgreSQL minor releases (of one major, if given), oldest first."""
    rels = [r for r in catalog.releases if r.product is Product.POSTGRESQL]
    if major is not None:
        rels = [r for r in rels if r.pg_version.major == major]
    return sorted(rels, key=lambda r: r.pg_version)


def latest_pgvector(catalog: Catalog) -> Release | None:
    rels = pgvector_releases(catalog)
    return rels[-1] if rels else None


def latest_minor(catalog: Catalog, major: str) -> Release | None:
    """The newest GA minor of ``major`` (``"16"``, ``"9.6"``), with its date."""
    rels = [r for r in pg_releases(catalog, major) if not r.pg_version.is_prerelease]
    return rels[-1] if rels else None


def releases_between(
    catalog: Catalog, product: Product, current: str, target: str | None = None
) -> list[Release]:
    """The hops from ``current`` (exclusive) to ``target`` (inclusive, default latest).

    For PostgreSQL only the same major is walked (minor updates). The releases carry
    their notes and required actions, so a plan can list every step it passes.
    """
    if product is Product.PGVECTOR:
        lo = PgvectorVersion.parse(current)
        hi = PgvectorVersion.parse(target) if target else None
        return [
            r
            for r in pgvector_releases(catalog)
            if lo < r.pgvector_version and (hi is None or r.pgvector_version <= hi)
        ]
    plo = PgVersion.parse(current)
    phi = PgVersion.parse(target) if target else None
    return [
        r
        for r in pg_releases(catalog, plo.major)
        if plo < r.pg_version and (phi is None or r.pg_version <= phi)
    ]


def eol_status(catalog: Catalog, major: str, today: date, *, soon_days: int = 180) -> EolStatus:
    info = catalog.majors.get(major)
    if info is None or info.eol is None:
        return EolStatus(major, None, EolState.UNKNOWN, None)
    left = (info.eol - today).days
    if left <= 0:
        return EolStatus(major, info.eol, EolState.EOL, left)
    if today + timedelta(days=soon_days) >= info.eol:
        return EolStatus(major, info.eol, EolState.EOL_SOON, left)
    return EolStatus(major, info.eol, EolState.SUPPORTED, left)


def supports(release: Release, major: str) -> bool:
    """Whether a pgvector release supports a PostgreSQL major (pg_min..pg_max)."""
    if release.pg_min is None:
        return False
    key = pg_major_key(major)
    if key < pg_major_key(release.pg_min):
        return False
    return release.pg_max is None or key <= pg_major_key(release.pg_max)


def pgvector_for_major(catalog: Catalog, major: str) -> list[Release]:
    """pgvector releases that support ``major``, oldest first."""
    return [r for r in pgvector_releases(catalog) if supports(r, major)]


def fixed_since(catalog: Catalog, version: str) -> list[tuple[Advisory, str]]:
    """PostgreSQL advisories fixed on this branch in minors after ``version``.

    Each item is (advisory, first fixed minor on the branch); this is what a minor
    update from ``version`` to the latest minor would fix.
    """
    current = PgVersion.parse(version)
    out: list[tuple[Advisory, str]] = []
    for adv in catalog.advisories:
        for rng in adv.affected:
            if rng.product is not Product.POSTGRESQL or rng.pg_major != current.major:
                continue
            if rng.fixed and current < PgVersion.parse(rng.fixed) and current in rng.range:
                out.append((adv, rng.fixed))
                break
    return sorted(out, key=lambda item: (PgVersion.parse(item[1]), item[0].id))


def first_seen(catalog: Catalog, key: str) -> date | None:
    """When vecpatch first knew an advisory (id or alias) or release (``product:version``)."""
    if key in catalog.first_seen:
        return catalog.first_seen[key]
    adv = catalog.advisory(key)
    if adv is not None:
        return catalog.first_seen.get(adv.id)
    return None


@dataclass(frozen=True)
class BeyondCatalog:
    """A version newer than every release the catalog knows on its branch."""

    product: Product
    version: str
    newest_known: str | None
    branch: str


def newer_than_catalog(catalog: Catalog, product: Product, version: str) -> BeyondCatalog | None:
    """``version`` is past the catalog's knowledge (so "latest" would be a guess), else None.

    For PostgreSQL the branch is the major: 15.21 is beyond a catalog whose newest
    15.x is 15.20, and 19.1 is beyond one that knows no 19 and nothing newer.
    """
    if product is Product.PGVECTOR:
        vec = PgvectorVersion.parse(version)
        latest = latest_pgvector(catalog)
        if latest is None or vec <= latest.pgvector_version:
            return None
        return BeyondCatalog(product, str(vec), latest.version, "pgvector")
    pg = PgVersion.parse(version)
    newest = latest_minor(catalog, pg.major)
    if newest is not None:
        if pg <= newest.pg_version:
            return None
        return BeyondCatalog(product, str(pg), newest.version, pg.major)
    known = [r.pg_version for r in pg_releases(catalog)]
    if not known or pg.major_parts <= max(known).major_parts:
        return None  # an old branch the catalog never tracked is not "newer"
    return BeyondCatalog(product, str(pg), None, pg.major)
