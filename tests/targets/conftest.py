"""The sample and the issue's files use ``env:ORDERS_DB_PASSWORD``; loading checks it is set."""

import pytest


@pytest.fixture(autouse=True)
def orders_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORDERS_DB_PASSWORD", "not-a-real-password")
