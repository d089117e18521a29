"""Real Debian packages: a cluster made with pg_createcluster, a real minor update
15.18 -> 15.20 through apt and vecpatch's minor step, and pgvector installed through apt as
a .deb built from Debian's source package, served from a local repository.

These tests change system packages (marked ``system_packages``) and put back every
version they changed; the window in which 15.20 is installed is a few seconds.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from vecpatch.cli.main import app
from vecpatch.sandbox.builds import ensure_build, find_build, install_parts

from .debian_host import (
    DebianCluster,
    debian_cluster,
    installed,
    local_repository,
    no_service_restarts,
    offered,
    pgvector_deb,
    restore,
    run,
)

NEW = "15.20-0+deb12u1"
_READY = os.geteuid() == 0 and all(
    shutil.which(t) for t in ("pg_createcluster", "dpkg-buildpackage", "pg_buildext")
)
pytestmark = [
    pytest.mark.slow,
    pytest.mark.system_packages,
    pytest.mark.skipif(
        not _READY and os.environ.get("CI") != "true",
        reason="needs root, postgresql-common, dpkg-dev, debhelper, postgresql-server-dev-15",
    ),
]


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DebianCluster, Path]]:
    """A Debian cluster and a targets file that reads host facts and drives apt locally."""
    if NEW not in offered("postgresql-15"):
        pytest.fail(f"postgresql-15 {NEW} is not offered: run apt-get update first")
    before = installed()
    deb = pgvector_deb()
    with no_service_restarts(), local_repository(deb), debian_cluster() as cluster:
        targets = tmp_path_factory.mktemp("targets") / "targets.toml"
        targets.write_text(
            f'[[targets]]\nname = "deb"\ndsn = "{cluster.dsn}"\n'
            'host_command = "local"\ndriver = "apt"\n'
        )
        try:
            yield cluster, targets
        finally:
            restore(before)
    assert installed() == before


def _cli(*args: str) -> Any:
    env = {"VECPATCH_TARGETS": "", "VECPATCH_HISTORY": ""}
    return CliRunner().invoke(app, list(args), env=env, catch_exceptions=False)


def _scan(targets: Path) -> dict[str, Any]:
    result = _cli("scan", "--targets", str(targets), "--format", "json", "--no-history")
    doc: dict[str, Any] = json.loads(result.stdout)
    [target] = doc["targets"]
    return target


def _plan(targets: Path, *extra: str) -> dict[str, Any]:
    result = _cli("plan", "--targets", str(targets), "--format", "json", *extra)
    [target] = json.loads(result.stdout)["targets"]
    return dict(target)


def test_a_debian_cluster_gets_debians_steps_and_a_minor_debian_ships(
    host: tuple[DebianCluster, Path],
) -> None:
    cluster, targets = host
    scanned = _scan(targets)
    platform = scanned["server"]["platform"]
    assert platform["kind"] == "debian", platform
    assert f"cluster_name '15/{cluster.name}' (pg_createcluster)" in platform["evidence"]
    plan = _plan(targets)
    minor = plan["pg_minor"]
    assert minor["target"] == "15.20" and minor["package_version"] == NEW
    assert minor["commands"] == [
        ["install", f"apt-get install -y postgresql-15={NEW}"],
        ["restart", f"pg_ctlcluster 15 {cluster.name} restart"],
    ]
    text = json.dumps(plan)
    for other in ("dnf ", "brew ", "pgvector/pgvector:", "git checkout", "pgdg-yum"):
        assert other not in text, other


PLACED = (
    Path("/usr/lib/postgresql/15/lib/vector.so"),
    Path("/usr/share/postgresql/15/extension/vector.control"),
    Path("/usr/share/postgresql/15/extension/vector--0.7.4.sql"),
)


def _old_install(cluster: DebianCluster) -> None:
    """pgvector 0.7.4 installed by hand (no package): its install script and control file,
    with a PostgreSQL 15 ``vector.so``, then a table and an HNSW index using it."""
    work = Path(tempfile.mkdtemp(prefix="vecpatch-oldvec-"))
    try:
        run("dpkg-deb", "-x", str(pgvector_deb()), str(work))
        old = find_build("16.4", "0.7.4")
        tree, _ = install_parts(old, ensure_build(old))
        shutil.copy2(work / "usr/lib/postgresql/15/lib/vector.so", PLACED[0])
        PLACED[1].write_text(
            "default_version = '0.7.4'\nmodule_pathname = '$libdir/vector'\nrelocatable = true\n"
        )
        shutil.copy2(next(tree.rglob("vector--0.7.4.sql")), PLACED[2])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    cluster.psql("CREATE EXTENSION vector")
    cluster.psql(
        "CREATE TABLE items (id int PRIMARY KEY, embedding vector(3));"
        "INSERT INTO items SELECT i, ARRAY[i, i + 1, i + 2]::real[]::vector "
        "FROM generate_series(1, 200) i;"
        "CREATE INDEX ON items USING hnsw (embedding vector_l2_ops);"
    )


def _remove_unpackaged() -> None:
    """Files placed by hand that no package took over."""
    for path in PLACED:
        if subprocess.run(["dpkg", "-S", str(path)], capture_output=True).returncode != 0:
            path.unlink(missing_ok=True)


def test_pending_restart_then_minor_step_and_the_local_pgvector_deb(
    host: tuple[DebianCluster, Path], tmp_path: Path
) -> None:
    cluster, targets = host
    try:
        _flow(cluster, targets, tmp_path)
    finally:
        _remove_unpackaged()


def _flow(cluster: DebianCluster, targets: Path, tmp_path: Path) -> None:
    _old_install(cluster)
    found = _scan(targets)
    assert "postgres" in found["databases"], json.dumps(found)[:3000]
    assert found["databases"]["postgres"]["pgvector"]["installed_version"] == "0.7.4"
    plan = _plan(targets, "--to", "0.8.0")
    assert plan["package"]["package_version"] == "0.8.0-1"
    assert plan["package"]["instructions"] == [
        ["debian: install (offered by the host's repositories)",
         "apt-get install -y postgresql-15-pgvector=0.8.0-1"],
    ]  # fmt: skip
    # the operator installs 15.20 and does not restart: the server still runs 15.18
    run("apt-get", "install", "-y", "-q", "--no-install-recommends", f"postgresql-15={NEW}")
    pending = _scan(targets)
    kinds = {f["kind"] for f in pending["findings"]}
    assert "PENDING_RESTART" in kinds, pending["findings"]
    assert pending["server"]["version"] == "15.18"
    args = ["apply", "--targets", str(targets), "--yes", "--to", "0.8.0", "--soak", "1s"]
    args += ["--format", "json", "--evidence-dir", str(tmp_path / "ev")]
    args += ["--backup-dir", str(tmp_path / "bk"), "--history", f"sqlite:///{tmp_path / 'h.db'}"]
    result = _cli(*args)
    assert result.exit_code == 0, result.stdout + result.stderr
    [db] = json.loads(result.stdout)["databases"]
    assert db["outcome"] == "applied", db
    steps = {s["name"]: s for s in db["steps"]}
    assert steps["pg-minor-verify"]["outcome"] == "ok"
    assert steps["pg-minor-verify"]["detail"] == {"asked": "15.20", "got": "15.20"}
    assert steps["package-verify"]["detail"] == {"asked": "0.8.0", "got": "0.8.0"}
    assert db["soak"]["log_check"] == "checked" and db["soak"]["log_file"] == str(cluster.log)
    assert cluster.psql("SELECT extversion FROM pg_extension WHERE extname = 'vector'") == "0.8.0\n"
    after = _scan(targets)
    assert after["server"]["version"] == "15.20"
    assert "PENDING_RESTART" not in {f["kind"] for f in after["findings"]}
    assert (
        subprocess.run(["dpkg", "-s", "postgresql-15-pgvector"], capture_output=True).returncode
        == 0
    )
