from __future__ import annotations

from vecpatch.catalog.model import Catalog, Product
from vecpatch.catalog.queries import (
    EolState,
    eol_status,
    first_seen,
    fixed_since,
    latest_minor,
    latest_pgvector,
    pgvector_for_major,
    releases_between,
)

from .conftest import NOW


def test_latest(catalog: Catalog) -> None:
    assert latest_pgvector(catalog).version == "0.8.6"  # type: ignore[union-attr]
    rel = latest_minor(catalog, "16")
    assert rel is not None and rel.version == "16.15" and str(rel.date) == "2026-08-13"


def test_hops_carry_required_actions(catalog: Catalog) -> None:
    hops = releases_between(catalog, Product.PGVECTOR, "0.2.7", "0.3.2")
    assert [r.version for r in hops] == ["0.3.0", "0.3.1", "0.3.2"]
    assert hops[1].required_actions
    pg = releases_between(catalog, Product.POSTGRESQL, "16.13")
    assert [r.version for r in pg] == ["16.14", "16.15"]


def test_eol(catalog: Catalog) -> None:
    assert eol_status(catalog, "14", NOW.date()).state is EolState.EOL
    assert eol_status(catalog, "15", NOW.date(), soon_days=365).state is EolState.EOL_SOON
    assert eol_status(catalog, "18", NOW.date()).state is EolState.SUPPORTED
    assert eol_status(catalog, "7.4", NOW.date()).state is EolState.UNKNOWN


def test_support_and_fixed_since(catalog: Catalog) -> None:
    assert "0.7.4" in [r.version for r in pgvector_for_major(catalog, "12")]
    assert "0.8.0" not in [r.version for r in pgvector_for_major(catalog, "12")]
    fixed = fixed_since(catalog, "16.13")
    assert {f for _, f in fixed} == {"16.14", "16.15"}
    assert first_seen(catalog, "GHSA-789c-mgqf-5hwx") is not None
