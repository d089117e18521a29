"""A throwaway PostgreSQL 15 cluster (Debian's binaries) shared by the test session.

Used where a test needs a plain PostgreSQL server rather than a pgvector sandbox: the
history store's PostgreSQL back-end, and pg_stat_statements (Debian ships contrib; the
wheels do not), preloaded when present. initdb refuses to run as root, so when the suite
runs as root (as CI does) the cluster belongs to an unprivileged system user and every
server command goes through ``runuser``. The cluster listens on 127.0.0.1 on a free port
and on a private socket directory, and is stopped by a finalizer whatever happens.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
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
def pg15_url() -> Iterator[str]:
    """``postgresql://postgres@127.0.0.1:PORT/postgres`` of a fresh PG 15 cluster."""
    if not (PG_BIN / "initdb").exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL 15 binaries not found in {PG_BIN}")
        pytest.skip(f"PostgreSQL 15 binaries not found in {PG_BIN}")
    _ensure_user()
    base = Path(tempfile.mkdtemp(prefix="vecpatch-pg15-"))
    base.chmod(0o755)
    if os.geteuid() == 0:
        shutil.chown(base, PG_USER, PG_USER)
    data, log = base / "data", base / "server.log"
    port = _free_port()
    run = subprocess.run
    run(
        _as_pg_user(str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
                    "-E", "UTF8", "--no-sync"),
        check=True, capture_output=True,
    )  # fmt: skip
    options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off"
    if (PG_BIN.parent / "lib" / "pg_stat_statements.so").exists():
        options += " -c shared_preload_libraries=pg_stat_statements"  # stage's query source
    started = run(
        _as_pg_user(str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options,
                    "-w", "-t", "60", "start"),
        capture_output=True, text=True,
    )  # fmt: skip
    try:
        if started.returncode != 0:
            detail = log.read_text() if log.exists() else started.stderr
            pytest.fail(f"could not start PostgreSQL 15: {detail}")
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        run(
            _as_pg_user(str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"),
            capture_output=True,
        )
        shutil.rmtree(base, ignore_errors=True)


@contextmanager
def scratch_database(server_url: str, prefix: str) -> Iterator[str]:
    """A fresh, randomly named database on the cluster; dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
