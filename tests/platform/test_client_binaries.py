"""pg_dump/pg_restore found, not demanded: a PostgreSQL 15 client on PATH, a 16 server."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.apply.helpers import cli, doc, extversion
from vecpatch.apply.binaries import BinariesNotFound, find_clients
from vecpatch.sandbox.testing import SandboxFactory

pytestmark = [pytest.mark.slow, pytest.mark.sandbox]

PG15 = Path("/usr/lib/postgresql/15/bin")


def _pg15_only_path(tmp: Path) -> str:
    """A PATH whose pg_dump/pg_restore are PostgreSQL 15's (then the usual system folders)."""
    folder = tmp / "pg15-client"
    folder.mkdir()
    for name in ("pg_dump", "pg_restore"):
        (folder / name).symlink_to(PG15 / name)
    return f"{folder}:/usr/sbin:/usr/bin:/sbin:/bin"


@pytest.mark.skipif(not (PG15 / "pg_dump").exists(), reason="needs Debian's PostgreSQL 15")
def test_apply_on_16_with_a_15_client_on_path_names_the_client_it_used(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    sb = sandbox_factory.fresh("16.4", "0.8.0", sample=True, rows=200)
    try:
        sb.install_extension("0.8.1")
        args = ["apply", sb.dsn(), "--yes", "--soak", "0", "--to", "0.8.1", "--format", "json"]
        args += ["--evidence-dir", str(tmp_path / "ev"), "--backup-dir", str(tmp_path / "bk")]
        args += ["--history", f"sqlite:///{tmp_path / 'h.db'}"]
        result = cli(*args, env={"PATH": _pg15_only_path(tmp_path)})
        assert result.exit_code == 0, result.stdout + result.stderr
        [db] = doc(result)["databases"]
        assert db["outcome"] == "applied" and extversion(sb) == "0.8.1"
        client = db["backup"]["client"]
        assert client.startswith("PostgreSQL 16 client") or client.startswith("PostgreSQL 18"), (
            client
        )
        assert "PATH" not in client and str(PG15) not in client
    finally:
        sandbox_factory.discard(sb)


def test_an_old_pg_bin_is_refused_with_what_it_is(tmp_path: Path) -> None:
    if not (PG15 / "pg_dump").exists():
        pytest.skip("needs Debian's PostgreSQL 15")
    with pytest.raises(BinariesNotFound, match="PostgreSQL 15, older than the server"):
        find_clients(16, PG15)
    found = find_clients(15, None, download=False)
    assert found.major >= 15 and found.tool("pg_dump").exists() and found.origin
    assert os.access(found.tool("pg_restore"), os.X_OK)
