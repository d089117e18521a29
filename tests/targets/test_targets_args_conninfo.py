"""Command-line targets and turning targets into psycopg connection parameters."""

from pathlib import Path

import pytest
from psycopg.conninfo import conninfo_to_dict

from vecpatch.targets import (
    ConnInfo,
    ConnInfoError,
    Target,
    TargetsError,
    is_dsn,
    resolve_conninfo,
    targets_from_args,
)

SENTINEL = "S3ntinel-pw-7f2c"


@pytest.fixture
def services(tmp_path: Path) -> dict[str, str]:
    """An environment whose libpq service file defines ``orders``."""
    conf = tmp_path / "pg_service.conf"
    conf.write_text("# comment\n[orders]\nhost=db1\ndbname=app\n\n[ search ]\nhost=db2\n")
    return {"PGSERVICEFILE": str(conf), "PGSYSCONFDIR": str(tmp_path / "none")}


def test_is_dsn() -> None:
    assert is_dsn("postgresql://h/db") and is_dsn("host=h") and not is_dsn("orders")


def test_args_accept_uris_kv_and_services(services: dict[str, str]) -> None:
    uri, kv, svc = targets_from_args(
        [f"postgresql://u:{SENTINEL}@db1:5433/app", "host=db2 dbname=x", "orders"], services
    )
    assert uri.name == "db1:5433/app" and SENTINEL not in uri.name
    assert kv.name == "db2/x"
    assert (svc.name, svc.dsn) == ("orders", "service=orders")
    assert targets_from_args(["search"], services)[0].dsn == "service=search"


def test_bad_args_are_all_reported(services: dict[str, str]) -> None:
    with pytest.raises(TargetsError) as caught:
        targets_from_args(["nosuch", "orders", "host='unterminated"], services)
    locations = [p.location for p in caught.value.problems]
    assert locations == ["argument 1", "argument 3"]
    assert "no service 'nosuch'" in caught.value.problems[0].message
    assert str(services["PGSERVICEFILE"]) in caught.value.problems[0].message


def test_same_server_twice_gets_distinct_names() -> None:
    a, b = targets_from_args(["host=h dbname=d", "postgresql://h/d"])
    assert a.name != b.name


def params(info: ConnInfo | ConnInfoError) -> dict[str, str]:
    assert isinstance(info, ConnInfo), info
    return {k: str(v) for k, v in conninfo_to_dict(info.conninfo).items()}


def test_env_password_and_defaults() -> None:
    target = Target(name="t", dsn="postgresql://u@h/db", password="env:PW")
    info = resolve_conninfo(target, {"PW": SENTINEL})
    got = params(info)
    assert got["password"] == SENTINEL
    assert got["application_name"] == "vecpatch"
    assert got["connect_timeout"] == "5"
    assert "statement_timeout=30000" in got["options"]
    assert "lock_timeout=5000" in got["options"]
    assert SENTINEL not in repr(info) and SENTINEL not in str(info)
    assert isinstance(info, ConnInfo) and SENTINEL not in info.redacted()


def test_dsn_values_win_over_target_defaults() -> None:
    dsn = "host=h connect_timeout=11 application_name=mine options='-c work_mem=4MB'"
    got = params(resolve_conninfo(Target(name="t", dsn=dsn)))
    assert got["connect_timeout"] == "11"
    assert got["application_name"] == "mine"
    assert got["options"].startswith("-c work_mem=4MB -c statement_timeout=")


def test_file_password_strips_newline(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text(SENTINEL + "\n")
    target = Target(name="t", dsn="host=h", password=f"file:{secret}")
    assert params(resolve_conninfo(target, {}))["password"] == SENTINEL


def test_reference_failures_are_data_not_exceptions(tmp_path: Path) -> None:
    missing_env = resolve_conninfo(Target(name="a", dsn="host=h", password="env:NOPE"), {})
    assert missing_env == ConnInfoError("a", "password variable NOPE is not set")
    empty_env = resolve_conninfo(Target(name="a", dsn="host=h", password="env:E"), {"E": ""})
    assert isinstance(empty_env, ConnInfoError) and "empty" in empty_env.reason
    unreadable = resolve_conninfo(
        Target(name="b", dsn="host=h", password=f"file:{tmp_path / 'absent'}"), {}
    )
    assert (
        isinstance(unreadable, ConnInfoError) and "cannot read password file" in unreadable.reason
    )


def test_pgpass_is_left_to_libpq(tmp_path: Path) -> None:
    assert "password" not in params(resolve_conninfo(Target(name="a", dsn="host=h"), {}))
    passfile = tmp_path / "pgpass"
    got = params(resolve_conninfo(Target(name="a", dsn="host=h", password=f"pgpass:{passfile}")))
    assert got["passfile"] == str(passfile) and "password" not in got


def test_for_database_keeps_credentials() -> None:
    info = resolve_conninfo(
        Target(name="a", dsn="host=h dbname=postgres", password="env:P"), {"P": "x"}
    )
    assert isinstance(info, ConnInfo)
    other = info.for_database("app")
    assert other.dbname == "app" and params(other)["password"] == "x"
