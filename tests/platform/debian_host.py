"""Real Debian packaging on this machine, for the system-package tests (root only).

A cluster under Debian's own tooling (``pg_createcluster``), a flat local apt repository
holding a pgvector .deb built from Debian's source, and a record of every PostgreSQL
package's version so the test puts back exactly what it changed. apt never restarts
clusters here (``policy-rc.d`` says no), which is what lets a test see a pending restart.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from vecpatch import paths
from vecpatch.sandbox.debbuild import build_pgvector_deb

TRACKED = (
    "postgresql-15", "postgresql-client-15", "libpq5", "libpq-dev", "postgresql-server-dev-15",
    "postgresql-15-pgvector",
)  # fmt: skip
POLICY = Path("/usr/sbin/policy-rc.d")
APT_ENV = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}


def run(*cmd: str, check: bool = True, cwd: Path | None = None) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, env=APT_ENV, check=False, cwd=cwd)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr[-2000:]}")
    return proc.stdout


def installed() -> dict[str, str]:
    out = run("dpkg-query", "-W", "-f", "${Package} ${Version} ${db:Status-Abbrev}\n", *TRACKED,
              check=False)  # fmt: skip
    return {
        p[0]: p[1] for p in (ln.split() for ln in out.splitlines()) if len(p) >= 3 and p[2] == "ii"
    }


def restore(before: dict[str, str]) -> None:
    """Put every tracked package back to its recorded version (or remove it)."""
    now = installed()
    extra = [p for p in now if p not in before]
    if extra:
        run("apt-get", "purge", "-y", "-q", *extra)
    changed = [f"{p}={v}" for p, v in before.items() if installed().get(p) != v]
    if changed:
        run("apt-get", "install", "-y", "-q", "--allow-downgrades", "--no-install-recommends",
            *changed)  # fmt: skip


def offered(package: str) -> str:
    return run("apt-cache", "policy", package)


@contextmanager
def no_service_restarts() -> Iterator[None]:
    """apt must not restart clusters (as on this machine); a CI machine may lack the file."""
    if POLICY.exists():
        yield
        return
    POLICY.write_text("#!/bin/sh\nexit 101\n")
    POLICY.chmod(0o755)
    try:
        yield
    finally:
        POLICY.unlink(missing_ok=True)


@contextmanager
def local_repository(deb: Path) -> Iterator[Path]:
    """A flat ``file:`` repository with ``deb``, known to the system's apt while it lasts."""
    repo = Path(tempfile.mkdtemp(prefix="vecpatch-repo-"))
    repo.chmod(0o755)
    shutil.copy2(deb, repo / deb.name)
    packages = run("dpkg-scanpackages", "--multiversion", ".", "/dev/null", cwd=repo)
    (repo / "Packages").write_text(packages)
    listing = Path(f"/etc/apt/sources.list.d/vecpatch-test-{os.getpid()}.list")
    listing.write_text(f"deb [trusted=yes] file:{repo} ./\n")
    try:
        run("apt-get", "update", "-q", "-o", f"Dir::Etc::sourcelist={listing}",
            "-o", "Dir::Etc::sourceparts=-", "-o", "APT::Get::List-Cleanup=0")  # fmt: skip
        yield repo
    finally:
        listing.unlink(missing_ok=True)
        shutil.rmtree(repo, ignore_errors=True)


def pgvector_deb() -> Path:
    return build_pgvector_deb(15, "0.8.0-1", paths.cache_dir() / "debs")


@dataclass
class DebianCluster:
    name: str
    port: int
    password: str

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres:{self.password}@127.0.0.1:{self.port}/postgres"

    @property
    def log(self) -> Path:
        return Path(f"/var/log/postgresql/postgresql-15-{self.name}.log")

    def psql(self, sql: str) -> str:
        return run("runuser", "-u", "postgres", "--", "psql", "-p", str(self.port), "-XAtc", sql)


@contextmanager
def debian_cluster() -> Iterator[DebianCluster]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    cluster = DebianCluster(f"vpt{os.getpid()}", port, secrets.token_urlsafe(16))
    run("pg_createcluster", "15", cluster.name, "--port", str(port), "--start")
    try:
        cluster.psql(f"ALTER ROLE postgres PASSWORD '{cluster.password}'")
        yield cluster
    finally:
        run("pg_dropcluster", "--stop", "15", cluster.name, check=False)
