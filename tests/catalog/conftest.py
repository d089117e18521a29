"""Shared fixtures: an isolated state dir, the bundled catalog, a fixed clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from vecpatch.catalog.model import Catalog
from vecpatch.catalog.store import load_catalog

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("VECPATCH_STATE", str(tmp_path / "state"))
    monkeypatch.setenv("VECPATCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("VECPATCH_OFFLINE", "1")
    monkeypatch.delenv("VECPATCH_CATALOG_SNAPSHOT_DIR", raising=False)
    yield


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog(offline=True, root=Path("/nonexistent-vecpatch-cache"))
