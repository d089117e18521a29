"""PostgreSQL builds from Debian's own packages, with pgvector built from Debian's source.

Nothing on the system changes: apt runs with a private source list, package lists and cache
under vecpatch's cache (``-o Dir::Etc::sourcelist=...``), ``apt-get download`` fetches the
server, client and server-dev packages of one exact version, and ``dpkg-deb -x`` unpacks them
side by side. Debian's binaries are relocatable, so the unpacked ``pg_config`` names the
unpacked tree and PGXS builds pgvector (Debian's ``pgvector`` source package, from trixie's
``deb-src``) straight into it. The result is cached; a rebuild needs no network.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from vecpatch.errors import VecpatchError

log = logging.getLogger(__name__)

SYSTEM_SOURCES = (Path("/etc/apt/sources.list"), Path("/etc/apt/sources.list.d"))
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
PACKAGES = ("postgresql-{major}", "postgresql-client-{major}", "postgresql-server-dev-{major}")


def mirror() -> str:
    """The Debian mirror the system's own sources use (so a local mirror keeps working)."""
    for source in SYSTEM_SOURCES:
        files = sorted(source.glob("*")) if source.is_dir() else [source]
        for path in files:
            try:
                text = path.read_text()
            except OSError:
                continue
            found = re.search(r"(?m)^(?:URIs:|deb(?:\s+\[[^]]*\])?)\s+(\S+/debian)/?\s", text)
            if found:
                return found.group(1)
    return DEFAULT_MIRROR


class PrivateApt:
    """apt with its own sources, lists and cache: reads the archive, changes no system state."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def options(self) -> list[str]:
        return [
            "-o", f"Dir::Etc::sourcelist={self.root / 'sources.list'}",
            "-o", "Dir::Etc::sourceparts=-",
            "-o", f"Dir::State::Lists={self.root / 'lists'}",
            "-o", f"Dir::Cache={self.root / 'cache'}",
            "-o", "APT::Sandbox::User=root",
        ]  # fmt: skip

    def ensure_lists(self) -> None:
        if (self.root / "lists" / ".vecpatch-updated").exists():
            return
        (self.root / "lists" / "partial").mkdir(parents=True, exist_ok=True)
        (self.root / "cache" / "archives" / "partial").mkdir(parents=True, exist_ok=True)
        base = mirror()
        signed = f"[signed-by={KEYRING}]"
        security = base.rsplit("/", 1)[0] + "/debian-security"
        (self.root / "sources.list").write_text(
            f"deb {signed} {base} bookworm main\n"
            f"deb {signed} {security} bookworm-security main\n"
            f"deb-src {signed} {base} trixie main\n"
        )
        self.run(["apt-get", "update"], self.root)
        (self.root / "lists" / ".vecpatch-updated").write_text("")

    def run(self, cmd: list[str], cwd: Path) -> str:
        full = [cmd[0], *self.options(), *cmd[1:]]
        proc = subprocess.run(full, cwd=cwd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-4:])
            raise VecpatchError(
                f"{' '.join(cmd)} failed: {tail}",
                hint="Debian builds need apt, dpkg-dev, gcc and make, and the Debian archive",
            )
        return proc.stdout


def build_debian(package_version: str, major: int, pgvector_source: str, root: Path) -> None:
    """Unpack Debian's PostgreSQL ``package_version`` into ``root`` with pgvector built in."""
    if shutil.which("apt-get") is None or shutil.which("dpkg-source") is None:
        raise VecpatchError(
            "PostgreSQL builds from Debian packages need apt-get and dpkg-source",
            hint="on Debian/Ubuntu: apt-get install dpkg-dev build-essential",
        )
    apt = PrivateApt(root.parent.parent / "apt")
    apt.root.mkdir(parents=True, exist_ok=True)
    apt.ensure_lists()
    work = Path(tempfile.mkdtemp(prefix="debbuild-", dir=root.parent))
    try:
        wanted = [f"{p.format(major=major)}={package_version}" for p in PACKAGES]
        apt.run(["apt-get", "download", *wanted], work)
        for deb in sorted(work.glob("*.deb")):
            _run(["dpkg-deb", "-x", str(deb), str(root)], work)
        apt.run(["apt-get", "source", "--download-only", f"pgvector={pgvector_source}"], work)
        dsc = next(work.glob("pgvector_*.dsc"))
        _run(["dpkg-source", "--no-check", "-x", str(dsc), str(work / "src")], work)
        pg_config = root / "usr" / "lib" / "postgresql" / str(major) / "bin" / "pg_config"
        make = [
            "make",
            "-C",
            str(work / "src"),
            f"PG_CONFIG={pg_config}",
            "OPTFLAGS=",
            "with_llvm=no",
        ]
        _run(make, work)
        _run([*make, "install"], work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _run(cmd: list[str], cwd: Path) -> None:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-4:])
        raise VecpatchError(f"{cmd[0]} failed while building a Debian sandbox: {tail}")


def build_pgvector_deb(major: int, source_version: str, cache: Path) -> Path:
    """A real ``postgresql-<major>-pgvector`` .deb built from Debian's source package.

    ``dpkg-buildpackage`` against the installed ``postgresql-server-dev-<major>`` (Debian's
    own packaging: ``pg_buildext updatecontrol`` picks the installed major). Built once into
    ``cache``; later calls return the cached file.
    """
    upstream = source_version.split("-")[0]
    name = f"postgresql-{major}-pgvector_{source_version}_"
    found = sorted(cache.glob(name + "*.deb"))
    if found:
        return found[0]
    for tool in ("dpkg-buildpackage", "pg_buildext"):
        if shutil.which(tool) is None:
            raise VecpatchError(
                f"building a pgvector .deb needs {tool}",
                hint=f"apt-get install dpkg-dev debhelper postgresql-server-dev-all "
                f"postgresql-server-dev-{major}",
            )
    apt = PrivateApt(cache.parent / "apt")
    apt.root.mkdir(parents=True, exist_ok=True)
    apt.ensure_lists()
    cache.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="debpkg-", dir=cache))
    try:
        apt.run(["apt-get", "source", "--download-only", f"pgvector={source_version}"], work)
        src = work / f"pgvector-{upstream}"
        _run(["dpkg-source", "--no-check", "-x", str(next(work.glob("*.dsc"))), str(src)], work)
        _run(["pg_buildext", "updatecontrol"], src)
        env_cmd = ["env", "DEB_BUILD_OPTIONS=nocheck noautodbgsym", "DEB_BUILD_PROFILES=nocheck"]
        _run([*env_cmd, "dpkg-buildpackage", "-us", "-uc", "-b", "-d"], src)
        built = sorted(work.glob(name + "*.deb"))
        if not built:
            raise VecpatchError(f"dpkg-buildpackage built no {name}*.deb")
        final = cache / built[0].name
        built[0].rename(final)
        return final
    finally:
        shutil.rmtree(work, ignore_errors=True)
