"""The soak finds the server log where the platform puts it, says when it cannot, and leaves
no error of its own in that log."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from vecpatch.apply.session import Endpoint
from vecpatch.apply.soak import soak
from vecpatch.sandbox import Sandbox
from vecpatch.sandbox.testing import SandboxFactory
from vecpatch.targets.conninfo import ConnInfo

pytestmark = [pytest.mark.sandbox]

PLAIN = "vp_soak_reader"
PASSWORD = "vp-soak-Reader-1"


@pytest.fixture(scope="module")
def server(sandbox_factory: SandboxFactory) -> Iterator[Sandbox]:
    sb = sandbox_factory.fresh("16.14")
    with sb.connect() as conn:
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(PLAIN), sql.Literal(PASSWORD)
            )
        )
    try:
        yield sb
    finally:
        sandbox_factory.discard(sb)


def _endpoint(dsn: str, **over: str) -> Endpoint:
    params = {k: str(v) for k, v in conninfo_to_dict(dsn).items()} | over
    return Endpoint("t", "postgres", ConnInfo("t", params))


def test_a_sandbox_log_is_read_and_the_soak_leaves_no_error_in_it(server: Sandbox) -> None:
    log = server.meta.log_file
    size = log.stat().st_size
    report = soak(_endpoint(server.dsn()), 0, datetime.now(UTC) - timedelta(seconds=1))
    assert report["log_check"] == "checked" and report["outcome"] == "ok", report
    assert report["log_file"] == str(log) and report["log_errors"] == []
    written = log.read_text()[size:]
    assert "ERROR" not in written, written


def test_a_role_that_cannot_read_the_log_gets_skipped_not_ok(server: Sandbox) -> None:
    log = server.meta.log_file
    size = log.stat().st_size
    endpoint = _endpoint(server.dsn(), user=PLAIN, password=PASSWORD)
    report = soak(endpoint, 0, datetime.now(UTC))
    assert report["log_check"] == "skipped" and report["outcome"] == "warning", report
    assert report["ok"] is False and "not readable" in report["log"]
    assert "pg_current_logfile() (not granted" in report["log"]
    written = log.read_text()[size:]
    assert "ERROR" not in written, written
