"""History stores on both back-ends for the metrics tests.

The PostgreSQL 15 fixture follows ``tests/history/conftest.py`` (copied, not imported:
a conftest's fixtures are only visible below its own folder).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

PG_BIN = Path(os.environ.get("VECPATCH_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
PG_USER = "vecpatch"


def _as_pg_user(*cmd: str) -> list[str]:
    return ["runuser", "-u", PG_USER, "--", *cmd] if os.geteuid() == 0 else list(cmd)


def _ensure_user() -> None:
    if os.geteuid() != 0:
        return
    if subprocess.run(["id", PG_USER], capture_output=True).returncode != 0:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", PG_USER], check=True, capture_output=True
        )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def metrics_pg15_url() -> Iterator[str]:
    """``postgresql://postgres@127.0.0.1:PORT/postgres`` of a fresh PG 15 cluster."""
    if not (PG_BIN / "initdb").exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL 15 binaries not found in {PG_BIN}")
        pytest.skip(f"PostgreSQL 15 binaries not found in {PG_BIN}")
    _ensure_user()
    base = Path(tempfile.mkdtemp(prefix="vecpatch-metrics-pg-"))
    base.chmod(0o755)
    if os.geteuid() == 0:
        shutil.chown(base, PG_USER, PG_USER)
    data, log = base / "data", base / "server.log"
    port = _free_port()
    ctl = str(PG_BIN / "pg_ctl")
    subprocess.run(
        _as_pg_user(str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
                    "-E", "UTF8", "--no-sync"),
        check=True, capture_output=True,
    )  # fmt: skip
    options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off"
    started = subprocess.run(
        _as_pg_user(ctl, "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "60",
                    "start"),
        capture_output=True, text=True,
    )  # fmt: skip
    try:
        if started.returncode != 0:
            detail = log.read_text() if log.exists() else started.stderr
            pytest.fail(f"could not start PostgreSQL 15: {detail}")
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            _as_pg_user(ctl, "-D", str(data), "-m", "immediate", "-w", "stop"), capture_output=True
        )
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def history_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """An empty history store on each back-end (PostgreSQL: a fresh, randomly named
    database on the test cluster, dropped afterwards)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('history') / 'history.db'}"
        return
    server: str = request.getfixturevalue("metrics_pg15_url")
    name = f"metrics_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield server.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
