"""History stores on both back-ends for the metrics tests (PostgreSQL: the shared PG 15
cluster of ``tests/pg15.py``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ..pg15 import scratch_database


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def history_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """An empty history store on each back-end (PostgreSQL: a fresh, randomly named
    database on the test cluster, dropped afterwards)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('history') / 'history.db'}"
        return
    server: str = request.getfixturevalue("pg15_url")
    with scratch_database(server, "metrics") as url:
        yield url
