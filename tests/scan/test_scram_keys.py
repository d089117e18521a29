"""SCRAM keys derived once per server: right or not used, never leaked, never noisy."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from vecpatch.probe import scram
from vecpatch.probe.collect import ProbeRequest, _Probe
from vecpatch.sandbox import Sandbox
from vecpatch.scan import probe_request
from vecpatch.targets.model import Target

pytestmark = pytest.mark.skipif(not scram.supported(), reason="libpq < 18 takes no SCRAM keys")


def _verifier(password: str, salt: bytes = b"0123456789abcdef", rounds: int = 4096) -> str:
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, rounds)
    client = hmac.digest(salted, b"Client Key", "sha256")
    server = hmac.digest(salted, b"Server Key", "sha256")
    b64 = base64.b64encode
    stored = b64(hashlib.sha256(client).digest()).decode()
    return f"SCRAM-SHA-256${rounds}:{b64(salt).decode()}${stored}:{b64(server).decode()}"


@pytest.mark.parametrize(
    ("verifier", "password"),
    [
        (_verifier("right"), "wrong"),  # does not hash to the stored key
        ("md5" + "0" * 32, "right"),  # not SCRAM
        ("SCRAM-SHA-256$x:y$z", "right"),  # malformed
        (_verifier("caf\u00e9"), "caf\u00e9"),  # SASLprep could change it: not trusted
        (_verifier("tab\there"), "tab\there"),  # a control character: libpq sends it raw
        (None, "right"),
        (_verifier(""), ""),
    ],
)
def test_keys_are_derived_only_when_provably_right(verifier: str | None, password: str) -> None:
    assert scram.derive(verifier, password) is None


def test_keys_repr_hides_them() -> None:
    keys = scram.derive(_verifier("right"), "right")
    assert keys is not None and keys.client not in repr(keys) and keys.server not in repr(keys)


def _probe(sb: Sandbox, dsn: str) -> _Probe:
    probe = _Probe(ProbeRequest("t", dsn, "all", secrets=(sb._password(),)), asyncio.Semaphore(8))
    facts = asyncio.run(probe.run())
    assert facts.failure is None and not facts.failed_databases, facts
    return probe


def test_a_superuser_probe_connects_with_keys_and_falls_back_where_they_fail(
    fresh_sandbox: Callable[..., Sandbox],
) -> None:
    sb = fresh_sandbox("16.14", "0.8.5")
    for name in ("one", "two", "cleartext"):
        sb.run_sql(f"CREATE DATABASE {name}")
    [(verifier,)] = sb.run_sql("SELECT rolpassword FROM pg_authid WHERE rolname = 'postgres'")
    keys = scram.derive(verifier, sb._password())
    assert keys is not None
    conninfo = psycopg.conninfo.make_conninfo(sb.dsn("one"), **keys.conninfo())
    with psycopg.connect(conninfo) as conn:  # no password: the keys alone authenticate
        assert conn.execute("SELECT current_database()").fetchone() == ("one",)

    probe = _probe(sb, sb.dsn())
    assert probe.keys == keys

    hba = sb.data_dir / "pg_hba.conf"
    hba.write_text("host cleartext all 127.0.0.1/32 password\n" + hba.read_text())
    sb.run_sql("SELECT pg_reload_conf()")
    probe = _probe(sb, sb.dsn())  # every database still probed: the password where needed
    assert probe.keys is None


def test_a_role_that_may_not_read_pg_authid_uses_its_password_and_logs_no_error(
    fresh_sandbox: Callable[..., Sandbox],
) -> None:
    sb = fresh_sandbox("16.14", "0.8.5")
    sb.run_sql("CREATE ROLE scanner LOGIN PASSWORD 'scan-pw-0123'")
    for name in ("one", "two"):
        sb.run_sql(f"CREATE DATABASE {name}")
    dsn = sb.dsn(user="postgres").replace(f"postgres:{sb._password()}@", "scanner:scan-pw-0123@")
    probe = _probe(sb, dsn)
    assert probe.keys is None
    assert "pg_authid" not in Path(sb.meta.log_file).read_text()


@pytest.mark.parametrize(
    ("message", "retry"),
    [
        ('FATAL:  password authentication failed for user "postgres"', True),
        ("fe_sendauth: no password supplied", True),
        ("SCRAM authentication: incorrect server signature", True),
        ('FATAL:  too many connections for role "postgres"', False),
        ('FATAL:  no pg_hba.conf entry for host "10.0.0.1", user "x", database "y"', False),
        ('FATAL:  database "gone" does not exist', False),
    ],
)
def test_only_refused_credentials_fall_back_to_the_password(message: str, retry: bool) -> None:
    assert scram.refused(psycopg.OperationalError(message)) is retry


def test_reuse_can_be_turned_off_per_target(fresh_sandbox: Callable[..., Sandbox]) -> None:
    """`reuse_scram_keys = false`: pg_authid is never read, every database uses the password."""
    target = Target(name="t", dsn="host=db password=x", reuse_scram_keys=False)
    assert probe_request(target).reuse_scram_keys is False
    sb = fresh_sandbox("16.14", "0.8.5")
    for name in ("one", "two"):
        sb.run_sql(f"CREATE DATABASE {name}")
    req = ProbeRequest("t", sb.dsn(), "all", reuse_scram_keys=False, secrets=(sb._password(),))
    probe = _Probe(req, asyncio.Semaphore(8))
    facts = asyncio.run(probe.run())
    assert facts.failure is None and len(facts.databases) == 4 and probe.keys is None
