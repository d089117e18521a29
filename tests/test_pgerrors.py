"""One first-line helper and class-based error sorting, on errors from a real server."""

import psycopg
import pytest
from psycopg import sql

from vecpatch.pgerrors import first_line, login_refused, privilege_refused
from vecpatch.probe.collect import ProbeRequest, probe_fleet_sync
from vecpatch.probe.errors import classify
from vecpatch.probe.facts import FailureKind


def _error(url: str, statement: str) -> psycopg.Error:
    with psycopg.connect(url, autocommit=True) as conn, pytest.raises(psycopg.Error) as caught:
        conn.execute(statement)
    return caught.value


def test_server_errors_carry_their_sqlstate(pg15_url: str) -> None:
    exc = _error(pg15_url, "SELECT * FROM no_such_table_here")
    assert first_line(exc) == ('relation "no_such_table_here" does not exist (SQLSTATE 42P01)')
    assert first_line(exc, sqlstate=False) == 'relation "no_such_table_here" does not exist'
    assert not login_refused(exc) and not privilege_refused(exc)


def test_privilege_errors_are_sorted_by_class(pg15_url: str) -> None:
    with psycopg.connect(pg15_url, autocommit=True) as conn:
        conn.execute("DROP ROLE IF EXISTS vp_err_probe")
        conn.execute("CREATE ROLE vp_err_probe LOGIN")
    try:
        url = pg15_url.replace("postgres@", "vp_err_probe@", 1)
        exc = _error(url, "SELECT * FROM pg_authid")
        assert isinstance(exc, psycopg.errors.InsufficientPrivilege)
        assert privilege_refused(exc)
        assert classify(exc).kind is FailureKind.INSUFFICIENT_PRIVILEGE
    finally:
        with psycopg.connect(pg15_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP ROLE vp_err_probe"))


def test_a_refused_login_is_recognised_at_connect(pg15_url: str) -> None:
    url = pg15_url.replace("postgres@", "no_such_role_vp@", 1)
    with pytest.raises(psycopg.OperationalError) as caught:
        psycopg.connect(url).close()
    assert login_refused(caught.value)
    failure = classify(caught.value)
    assert failure.kind is FailureKind.AUTH_FAILED
    assert failure.reason.startswith('role "no_such_role_vp" does not exist')


def test_empty_and_multiline_errors() -> None:
    assert first_line(TimeoutError()) == "timed out connecting"
    assert first_line(KeyboardInterrupt()) == "KeyboardInterrupt"
    assert first_line(OSError("disk full\nmore detail")) == "disk full"
    assert len(first_line(ValueError("x" * 2000))) == 500


def test_an_unencodable_host_is_unreachable_not_a_crash() -> None:
    """Targets files reject such hosts; a probe given one anyway reports it."""
    req = ProbeRequest(target="long", conninfo=f"host={'h' * 5000} dbname=x connect_timeout=1")
    [facts] = probe_fleet_sync([req])
    assert facts.failure is not None and facts.failure.kind is FailureKind.UNREACHABLE
    assert "idna" in facts.failure.reason
