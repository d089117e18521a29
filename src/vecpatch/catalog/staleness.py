"""How old the catalog is, and when to say so.

Findings are only as current as the catalog; a stale catalog quietly misses new
CVEs, so every catalog command prints its age and warns past a limit.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from vecpatch.catalog.model import Catalog

DEFAULT_LIMIT = timedelta(days=14)


def catalog_age(catalog: Catalog, now: datetime) -> timedelta:
    """Time since the catalog's newest release date or feed check (never negative).

    The date a file was written says nothing about how current its contents are.
    """
    return max(now - catalog.generated_at, timedelta(0))


def age_line(catalog: Catalog, now: datetime) -> str:
    days = catalog_age(catalog, now).days
    built = catalog.built_at or catalog.snapshot_generated_at
    return (
        f"catalog data as of {catalog.generated_at.date().isoformat()} ({days} days old: "
        f"newest release or feed check; written {built.date().isoformat()})"
    )


def staleness_warning(
    catalog: Catalog, now: datetime, limit: timedelta = DEFAULT_LIMIT
) -> str | None:
    """A warning sentence when the catalog is older than ``limit``, else None."""
    age = catalog_age(catalog, now)
    if age <= limit:
        return None
    return (
        f"catalog is {age.days} days old (limit {limit.days}); releases and advisories "
        f"since {catalog.generated_at.date().isoformat()} may be missing: run "
        f"`vecpatch catalog update`"
    )
