"""resolve_conninfo's output against a real server (lives here for the PG 15 fixture)."""

from __future__ import annotations

import psycopg
import pytest

from vecpatch.targets import ConnInfo, Target, resolve_conninfo

pytestmark = pytest.mark.slow


def test_connection_parameters_reach_the_session(pg15_url: str) -> None:
    dsn = pg15_url + "?sslmode=disable"
    target = Target(name="live", dsn=dsn, password="env:LIVE_PW", statement_timeout=12.5)
    info = resolve_conninfo(target, {"LIVE_PW": "unused-with-trust"})
    assert isinstance(info, ConnInfo)
    with psycopg.connect(info.for_database("template1").conninfo) as conn:
        settings = {
            name: conn.execute(f"SHOW {name}").fetchone()[0]  # type: ignore[index]
            for name in ("application_name", "statement_timeout", "lock_timeout")
        }
        database = conn.execute("SELECT current_database()").fetchone()
    assert settings == {
        "application_name": "vecpatch",
        "statement_timeout": "12500ms",
        "lock_timeout": "5s",
    }
    assert database == ("template1",)
