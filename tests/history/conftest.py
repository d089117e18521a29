"""History-store fixtures on both back-ends (PostgreSQL: the shared PG 15 cluster of
``tests/pg15.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from vecpatch.history import HistoryStore

from ..pg15 import scratch_database


@pytest.fixture
def pg15_database(pg15_url: str) -> Iterator[str]:
    """A fresh, randomly named database on the test cluster; dropped afterwards."""
    with scratch_database(pg15_url, "history") as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def history_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL for an empty history store on each back-end."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'history.db'}"
    url: str = request.getfixturevalue("pg15_database")
    return url


@pytest.fixture
def store(history_url: str) -> Iterator[HistoryStore]:
    with HistoryStore.open(history_url) as opened:
        yield opened
