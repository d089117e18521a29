"""The finding that says the catalog, not the server, is behind.

A version newer than anything the catalog knows on its branch cannot be judged:
"no findings" or "latest" would be a guess. The honest answer names the gap and
how to close it.
"""

from __future__ import annotations

from vecpatch.catalog.model import Catalog, Product
from vecpatch.catalog.queries import newer_than_catalog
from vecpatch.findings import Finding, FindingKind

REFRESH = (
    "refresh the catalog: `vecpatch catalog update` (offline: `vecpatch catalog update "
    "--distro-file PACKAGE.deb` with the distro package that ships this version, or a newer "
    "vecpatch), then scan again"
)


def newer_than_catalog_findings(
    catalog: Catalog, target: str, database: str | None, product: Product, version: str | None
) -> list[Finding]:
    """One NEWER_THAN_CATALOG finding when ``version`` is past the catalog's knowledge."""
    beyond = newer_than_catalog(catalog, product, version) if version else None
    if beyond is None:
        return []
    name = "PostgreSQL" if product is Product.POSTGRESQL else "pgvector"
    known = (
        f"the newest it knows is {beyond.newest_known}"
        if beyond.newest_known
        else f"it knows no release of branch {beyond.branch} or newer"
    )
    return [
        Finding(
            kind=FindingKind.NEWER_THAN_CATALOG,
            severity="medium",
            target=target,
            database=database,
            product=product.value,
            title=f"{name} {beyond.version} is newer than the catalog ({known}): "
            "the catalog is stale, advisories and releases since then are unknown",
            next_action=REFRESH,
            reasons=(
                f"catalog data as of {catalog.generated_at.date().isoformat()}",
                f"{name} {beyond.version} > {beyond.newest_known or 'every known branch'}",
            ),
            installed_version=beyond.version,
            fixable=False,
        )
    ]
