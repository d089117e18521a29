"""The ``Sandbox``: one real local PostgreSQL cluster at a chosen PostgreSQL x pgvector pair.

Each sandbox owns a folder with its own copy (hard links) of a build's whole install tree, a
data directory, a socket directory, a log and a 0600 password file. Owning the binaries is what
lets ``install_extension`` and ``pg_minor`` change one sandbox like a package upgrade would,
without touching the shared build cache or other sandboxes.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote

import psycopg
from psycopg import sql

from vecpatch.errors import UsageError, VecpatchError
from vecpatch.sandbox import builds, extension, server
from vecpatch.sandbox.meta import (
    META_FILE,
    PASSWORD_FILE,
    SandboxMeta,
    check_name,
    sandboxes_dir,
)
from vecpatch.sandbox.osuser import OsUser, give, is_root, run_as, server_user
from vecpatch.sandbox.sample import SampleInfo, load_sample

log = logging.getLogger(__name__)

_SOCKET_PATH_MAX = 100  # sun_path is 108 bytes, minus "/.s.PGSQL.NNNNN"


class SandboxState(StrEnum):
    """Liveness as seen from disk and /proc, without connecting."""

    RUNNING = "running"
    STOPPED = "stopped"
    STALE = "stale"  # recorded as started, but the postmaster is gone (killed run, reboot)
    ORPHAN = "orphan"  # a folder without a record (creation was interrupted)


@dataclass(frozen=True)
class SandboxStatus:
    """What ``status``/``list`` show. Never carries the password."""

    name: str
    state: SandboxState
    pg: str | None
    pgvector: str | None
    port: int | None
    pid: int | None
    replica_of: str | None
    path: str
    bin_dir: str | None = None
    """The PostgreSQL programs this sandbox runs (its clients too: ``pg_dump``, ``psql``)."""


class Sandbox:
    """A local cluster; use ``Sandbox.create`` or ``Sandbox.load``. A context manager that
    destroys the sandbox on exit."""

    def __init__(self, meta: SandboxMeta) -> None:
        self.meta = meta

    # ----- construction -------------------------------------------------------------------
    @classmethod
    def create(
        cls,
        name: str,
        pg: str | None = None,
        pgvector: str | None = None,
        *,
        sample: bool = False,
        rows: int = 10_000,
        port: int | None = None,
        pg_bin: str | Path | None = None,
        seed: int = 42,
    ) -> Sandbox:
        """Create and start a sandbox from a cached build (or a local install with ``pg_bin``)."""
        folder = sandboxes_dir() / check_name(name)
        if folder.exists():
            raise UsageError(
                f"sandbox {name!r} already exists",
                hint=f"remove it with: vecpatch sandbox destroy {name}",
            )
        if pg_bin is None and pg is None:
            raise UsageError("say which PostgreSQL to use: --pg VERSION or --pg-bin DIR")
        build = None if pg_bin is not None else builds.find_build(str(pg), pgvector)
        build_root = builds.ensure_build(build) if build is not None else None
        folder.mkdir(mode=0o755)
        try:
            sandbox = cls._prepare(folder, name, build, build_root, pg_bin, pgvector, port)
            sandbox._initdb()
            sandbox.start()
            sandbox._set_password()
            if sample:
                sandbox.load_sample(rows=rows, seed=seed)
        except BaseException:
            _remove_folder(folder)
            raise
        return sandbox

    @classmethod
    def _prepare(
        cls,
        folder: Path,
        name: str,
        build: builds.Build | None,
        build_root: Path | None,
        pg_bin: str | Path | None,
        pgvector: str | None,
        port: int | None,
    ) -> Sandbox:
        if build is not None and build_root is not None:
            bin_dir = _install_copy(build, build_root, folder / "install")
            pg, source, external = build.pg, build.key, False
            vec: str | None = build.pgvector
        else:
            bin_dir = Path(str(pg_bin)).resolve()
            pg, vec = _local_install_pair(bin_dir)
            if pgvector is not None and pgvector != vec:
                found = f"pgvector {vec}" if vec else "no pgvector"
                raise UsageError(f"{bin_dir} has {found}, not pgvector {pgvector}")
            source, external = f"local:{bin_dir}", True
        pw_file = folder / PASSWORD_FILE
        pw_file.touch(mode=0o600)
        pw_file.write_text(secrets.token_urlsafe(24) + "\n")
        meta = SandboxMeta(
            name=name,
            pg=pg,
            pgvector=vec,
            port=port or server.free_port(),
            root=str(folder),
            bin_dir=str(bin_dir),
            socket_dir=str(_socket_dir(folder)),
            source=source,
            created=datetime.now(UTC).isoformat(timespec="seconds"),
            external=external,
        )
        sandbox = cls(meta)
        user = sandbox.os_user
        for sub in (meta.data_dir, meta.log_file.parent, Path(meta.socket_dir)):
            sub.mkdir(mode=0o700 if sub == meta.data_dir else 0o755, exist_ok=True)
            give(sub, user)
        meta.save()
        return sandbox

    def _initdb(self) -> None:
        cmd: list[str | Path] = [
            self.bin_dir / "initdb",
            "-D",
            self.data_dir,
            "-U",
            "postgres",
            "--auth=trust",
        ]
        cmd += ["-E", "UTF8", "--locale=C.UTF-8", "--no-sync", "--no-instructions"]
        run_as(self.os_user, cmd, cwd=self.path)

    def _set_password(self) -> None:
        stmt = sql.SQL("ALTER ROLE postgres PASSWORD {}").format(sql.Literal(self._password()))
        with self.connect() as conn:
            conn.execute(stmt)

    @classmethod
    def load(cls, name: str) -> Sandbox:
        """An existing sandbox by name (started or not)."""
        folder = sandboxes_dir() / check_name(name)
        if not (folder / META_FILE).exists():
            known = ", ".join(s.name for s in cls.all()) or "none"
            raise UsageError(f"no sandbox named {name!r}", hint=f"existing sandboxes: {known}")
        return cls(SandboxMeta.read(folder))

    @classmethod
    def all(cls) -> list[Sandbox]:
        """Every sandbox with a record, by name."""
        base = sandboxes_dir()
        return [cls(SandboxMeta.read(p.parent)) for p in sorted(base.glob(f"*/{META_FILE}"))]

    # ----- properties ---------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.meta.name

    @property
    def path(self) -> Path:
        return self.meta.path

    @property
    def data_dir(self) -> Path:
        return self.meta.data_dir

    @property
    def bin_dir(self) -> Path:
        return Path(self.meta.bin_dir)

    @property
    def socket_dir(self) -> Path:
        return Path(self.meta.socket_dir)

    @property
    def port(self) -> int:
        return self.meta.port

    @property
    def pg_version(self) -> str:
        return self.meta.pg

    @property
    def pg_major(self) -> int:
        return int(self.meta.pg.split(".")[0])

    @property
    def pgvector_version(self) -> str | None:
        """The pgvector version on disk (the control file's default), not the catalog's."""
        return self.meta.pgvector

    @property
    def os_user(self) -> OsUser:
        return server_user()

    @property
    def extension_dirs(self) -> extension.ExtensionDirs:
        return extension.extension_dirs(self.bin_dir)

    # ----- lifecycle ----------------------------------------------------------------------
    def is_running(self) -> bool:
        return server.postmaster_pid(self.data_dir) is not None

    def start(self) -> None:
        """Start (idempotent). A taken port is replaced by a free one and recorded."""
        if self.is_running():
            return
        user = self.os_user
        for attempt in range(server.MAX_PORT_TRIES):
            if attempt or not server.port_is_free(self.meta.port):
                old, self.meta.port = self.meta.port, server.free_port()
                log.warning("port %d is taken; %s uses port %d", old, self.name, self.meta.port)
            server.write_config(self.data_dir, self.meta.port, self.socket_dir, user)
            if server.start(self.bin_dir, self.data_dir, self.meta.log_file, user, self.path):
                break
        else:
            raise VecpatchError(f"no free port found for {self.name} after several tries")
        self.meta.pid = server.postmaster_pid(self.data_dir)
        self.meta.save()

    def stop(self) -> None:
        """Fast shutdown (idempotent)."""
        server.stop(self.bin_dir, self.data_dir, self.os_user, self.path)
        self.meta.pid = None
        self.meta.save()

    def restart(self) -> None:
        self.stop()
        self.start()

    def destroy(self) -> None:
        """Stop the server and remove every file of the sandbox."""
        server.stop(self.bin_dir, self.data_dir, self.os_user, self.path)
        if not self.socket_dir.is_relative_to(self.path):
            shutil.rmtree(self.socket_dir, ignore_errors=True)
        _remove_folder(self.path)

    def status(self) -> SandboxStatus:
        pid = server.postmaster_pid(self.data_dir)
        if pid is not None:
            state = SandboxState.RUNNING
        elif self.meta.pid is not None or (self.data_dir / "postmaster.pid").exists():
            state = SandboxState.STALE
        else:
            state = SandboxState.STOPPED
        m = self.meta
        return SandboxStatus(
            m.name, state, m.pg, m.pgvector, m.port, pid, m.replica_of, m.root, m.bin_dir
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.destroy()

    def __repr__(self) -> str:
        return f"Sandbox({self.name!r}, pg={self.pg_version}, pgvector={self.pgvector_version})"

    # ----- connecting ---------------------------------------------------------------------
    def _password(self) -> str:
        return (self.path / PASSWORD_FILE).read_text().strip()

    def dsn(self, dbname: str = "postgres", user: str = "postgres") -> str:
        """A libpq URI over TCP 127.0.0.1 with the password: works from any local process."""
        secret = f":{quote(self._password(), safe='')}" if user == "postgres" else ""
        return f"postgresql://{quote(user, safe='')}{secret}@127.0.0.1:{self.port}/{quote(dbname)}"

    def socket_dsn(self, dbname: str = "postgres", user: str = "postgres") -> str:
        """A libpq URI over the unix socket (trust auth, no password)."""
        host = quote(str(self.socket_dir), safe="")
        return f"postgresql:///{quote(dbname)}?host={host}&port={self.port}&user={quote(user)}"

    def connect(self, dbname: str = "postgres") -> psycopg.Connection[tuple[Any, ...]]:
        """An autocommit connection over the socket."""
        return psycopg.connect(self.socket_dsn(dbname), autocommit=True)

    def run_sql(
        self, query: str, params: Sequence[Any] | None = None, *, dbname: str = "postgres"
    ) -> list[tuple[Any, ...]]:
        """Run one statement in a fresh connection; return its rows (empty if none)."""
        with self.connect(dbname) as conn:
            cur = conn.execute(query, params)
            return cur.fetchall() if cur.description else []

    def load_sample(
        self, *, rows: int = 10_000, seed: int = 42, dbname: str = "postgres"
    ) -> SampleInfo:
        """Load the realistic sample tables and indexes (see ``vecpatch.sandbox.sample``)."""
        if self.pgvector_version is None:
            raise UsageError(f"sandbox {self.name!r} has no pgvector: cannot load sample data")
        with self.connect(dbname) as conn:
            info = load_sample(conn, self.pgvector_version, rows=rows, seed=seed)
        self.meta.extra.update(sample_db=dbname, sample_rows=str(rows))
        self.meta.save()
        return info

    # ----- changing binaries --------------------------------------------------------------
    def _require_own_binaries(self, what: str) -> None:
        if self.meta.external:
            raise UsageError(
                f"{what}: sandbox {self.name!r} runs a local installation ({self.bin_dir}); "
                "only sandboxes built from vecpatch's builds can be changed"
            )

    def install_extension(
        self, version: str, *, from_pg: str | None = None, force_foreign_major: bool = False
    ) -> builds.Build:
        """Upgrade pgvector's files on disk like an OS package would; the server keeps running.

        ``from_pg`` picks the build of that PostgreSQL version (or major, e.g. ``"18"``).
        A build for another PostgreSQL major is refused unless ``force_foreign_major``
        (test-only: simulates installing the wrong package).
        """
        self._require_own_binaries("install-extension")
        build = self._pick_vector_build(version, from_pg=from_pg, foreign_ok=force_foreign_major)
        root = builds.ensure_build(build)
        tree, _libs = builds.install_parts(build, root)
        extension.replace_package(self.extension_dirs, extension.extension_dirs(tree / "bin"))
        self.meta.pgvector = version
        self.meta.extra.pop("vector_so", None)
        if build.pg_major != self.pg_major:
            self.meta.extra["vector_so"] = f"{version} built for PostgreSQL {build.pg}"
        self.meta.save()
        return build

    def swap_vector_library(self, version: str, *, pg_major: int | None = None) -> builds.Build:
        """Test-only: replace just ``vector.so`` (control and SQL files stay).

        Simulates "an old library under a newer catalog" or, with ``pg_major``, a library
        built for another PostgreSQL major.
        """
        self._require_own_binaries("swap_vector_library")
        major = str(pg_major) if pg_major is not None else None
        build = self._pick_vector_build(version, from_pg=major, foreign_ok=True)
        tree, _libs = builds.install_parts(build, builds.ensure_build(build))
        library = extension.extension_dirs(tree / "bin").library
        extension.replace_library(self.extension_dirs, library)
        self.meta.extra["vector_so"] = f"{version} built for PostgreSQL {build.pg}"
        self.meta.save()
        return build

    def _pick_vector_build(
        self, version: str, *, from_pg: str | None, foreign_ok: bool
    ) -> builds.Build:
        candidates = builds.builds_with_pgvector(version)
        if from_pg is not None:
            candidates = [b for b in candidates if from_pg in (b.pg, str(b.pg_major))]
        if not candidates:
            pairs = ", ".join(f"{b.pg}/{b.pgvector}" for b in builds.available_pairs())
            wanted = f"pgvector {version}" + (f" for PostgreSQL {from_pg}" if from_pg else "")
            raise UsageError(f"no build of {wanted}", hint=f"available pairs: {pairs}")
        same = [b for b in candidates if b.pg_major == self.pg_major]
        if same:
            return same[-1]
        if foreign_ok:
            return candidates[-1]
        found = ", ".join(sorted({b.pg for b in candidates}))
        raise UsageError(
            f"refusing to install pgvector {version} built for PostgreSQL {found} into sandbox "
            f"{self.name!r}, which runs PostgreSQL {self.pg_version} (major {self.pg_major})",
            hint="a vector.so must be built for the server's major version "
            "(otherwise: 'incompatible library ... version mismatch')",
        )

    def pg_minor(
        self, version: str, *, keep_extension: bool = True, allow_downgrade: bool = False
    ) -> builds.Build:
        """Minor update: stop, switch to another minor's binaries of the same major, start.

        The data directory is kept. With ``keep_extension`` (default) the installed pgvector
        files carry over, as a separately packaged extension would.
        """
        self._require_own_binaries("pg-minor")
        build = builds.find_build(version)
        if build.pg_major != self.pg_major:
            raise UsageError(
                f"PostgreSQL {version} is another major than {self.pg_version}: "
                "a minor update keeps the major (a major upgrade needs pg_upgrade)"
            )
        old, new = builds.version_tuple(self.pg_version), builds.version_tuple(version)
        if new == old or (new < old and not allow_downgrade):
            raise UsageError(f"PostgreSQL {version} is not newer than {self.pg_version}")
        root = builds.ensure_build(build)
        staging = self.path / "install.new"
        shutil.rmtree(staging, ignore_errors=True)
        bin_dir = _install_copy(build, root, staging)
        if keep_extension and self.pgvector_version is not None:
            extension.replace_package(extension.extension_dirs(bin_dir), self.extension_dirs)
        self.stop()
        install = self.path / "install"
        retired = self.path / "install.old"
        install.rename(retired)
        staging.rename(install)
        shutil.rmtree(retired, ignore_errors=True)
        self.meta.bin_dir = str(install / bin_dir.relative_to(staging))
        self.meta.pg, self.meta.source = build.pg, build.key
        if not keep_extension:
            self.meta.pgvector = build.pgvector
        self.meta.save()
        self.start()
        return build

    # ----- replicas -----------------------------------------------------------------------
    def create_replica(self, name: str, *, port: int | None = None) -> Sandbox:
        """A streaming standby of this (running) sandbox, on a copy of the same binaries."""
        if not self.is_running():
            raise UsageError(f"sandbox {self.name!r} must be running to take a base backup")
        folder = sandboxes_dir() / check_name(name)
        if folder.exists():
            raise UsageError(
                f"sandbox {name!r} already exists",
                hint=f"remove it with: vecpatch sandbox destroy {name}",
            )
        folder.mkdir(mode=0o755)
        try:
            replica = self._prepare_replica(folder, name, port)
            cmd: list[str | Path] = [
                replica.bin_dir / "pg_basebackup",
                "-h",
                self.socket_dir,
                "-p",
                str(self.port),
            ]
            cmd += ["-U", "postgres", "-D", replica.data_dir, "-R", "-X", "stream", "-c", "fast"]
            run_as(replica.os_user, cmd, cwd=folder)
            replica.start()
        except BaseException:
            _remove_folder(folder)
            raise
        return replica

    def _prepare_replica(self, folder: Path, name: str, port: int | None) -> Sandbox:
        if self.meta.external:
            bin_dir = self.bin_dir
        else:
            builds.link_tree(self.path / "install", folder / "install")
            bin_dir = folder / "install" / self.bin_dir.relative_to(self.path / "install")
        shutil.copyfile(self.path / PASSWORD_FILE, folder / PASSWORD_FILE)
        os.chmod(folder / PASSWORD_FILE, 0o600)
        meta = SandboxMeta(
            name=name,
            pg=self.meta.pg,
            pgvector=self.meta.pgvector,
            port=port or server.free_port(),
            root=str(folder),
            bin_dir=str(bin_dir),
            socket_dir=str(_socket_dir(folder)),
            source=self.meta.source,
            created=datetime.now(UTC).isoformat(timespec="seconds"),
            external=self.meta.external,
            replica_of=self.name,
        )
        replica = Sandbox(meta)
        user = replica.os_user
        for sub in (meta.data_dir, meta.log_file.parent, Path(meta.socket_dir)):
            sub.mkdir(mode=0o700 if sub == meta.data_dir else 0o755, exist_ok=True)
            give(sub, user)
        meta.save()
        return replica


# ----- module helpers ---------------------------------------------------------------------
def _install_copy(build: builds.Build, build_root: Path, dest: Path) -> Path:
    """Hard-link the build's PostgreSQL tree and its bundled libs into ``dest``; return bin."""
    tree, libs = builds.install_parts(build, build_root)
    tree_rel = tree.relative_to(build_root)
    builds.link_tree(tree, dest / tree_rel)
    if libs.is_dir():
        builds.link_tree(libs, dest / libs.name)
    return dest / tree_rel / "bin"


def _socket_dir(folder: Path) -> Path:
    """``folder/sock`` unless that path is too long for a unix socket (then a short /tmp dir)."""
    candidate = folder / "sock"
    if len(str(candidate)) <= _SOCKET_PATH_MAX:
        return candidate
    short = Path(tempfile.mkdtemp(prefix="vps-", dir="/tmp"))
    os.chmod(short, 0o755)
    return short


_PG_VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+(?:\.\d+)?)")


def _local_install_pair(bin_dir: Path) -> tuple[str, str | None]:
    """PostgreSQL version from ``postgres --version``; pgvector from its control file."""
    postgres = bin_dir / "postgres"
    if not postgres.exists():
        raise UsageError(f"{bin_dir} has no postgres binary", hint="point --pg-bin at a bin dir")
    out = subprocess.run([str(postgres), "--version"], capture_output=True, text=True, check=False)
    match = _PG_VERSION.search(out.stdout)
    if match is None:
        raise VecpatchError(f"cannot read the version of {postgres}: {out.stdout or out.stderr}")
    return match.group(1), extension.control_version(extension.extension_dirs(bin_dir))


def _remove_folder(folder: Path) -> None:
    """Remove a sandbox folder, stopping any postmaster still running from it."""
    pid = server.postmaster_pid(folder / "data")
    if pid is not None:
        server.kill_postmaster(pid)
    shutil.rmtree(folder, ignore_errors=True)


def list_sandboxes() -> list[SandboxStatus]:
    """Status of every sandbox folder, including orphans (no record) from killed runs."""
    result: list[SandboxStatus] = []
    for folder in sorted(p for p in sandboxes_dir().iterdir() if p.is_dir()):
        if (folder / META_FILE).exists():
            result.append(Sandbox(SandboxMeta.read(folder)).status())
        elif not folder.name.startswith("."):
            pid = server.postmaster_pid(folder / "data")
            result.append(
                SandboxStatus(
                    folder.name, SandboxState.ORPHAN, None, None, None, pid, None, str(folder)
                )
            )
    return result


def destroy_all() -> list[str]:
    """Destroy every sandbox, stale and orphan ones included; return their names."""
    names: list[str] = []
    for status in list_sandboxes():
        if status.state is SandboxState.ORPHAN:
            _remove_folder(Path(status.path))
        else:
            Sandbox(SandboxMeta.read(Path(status.path))).destroy()
        names.append(status.name)
    return names


def running_as_root() -> bool:
    """Whether server processes run as the dedicated ``vecpatch`` user."""
    return is_root()
