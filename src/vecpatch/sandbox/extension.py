"""Putting pgvector files on disk the way an OS package upgrade does.

A package manager removes the old package's files and installs the new ones by unlinking and
re-creating each file (never writing into an inode a running backend has mapped, nor into one
shared by hard link with the build cache). Running servers are not restarted: new backends load
the new ``vector.so``, which is the realistic state right after ``apt upgrade``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from vecpatch.errors import VecpatchError


@dataclass(frozen=True)
class ExtensionDirs:
    """Where an installation loads ``vector.so`` from and reads control/SQL files from."""

    pkglibdir: Path
    extdir: Path

    @property
    def library(self) -> Path:
        return self.pkglibdir / "vector.so"

    @property
    def control(self) -> Path:
        return self.extdir / "vector.control"

    def scripts(self) -> list[Path]:
        return sorted(self.extdir.glob("vector--*.sql"))


def extension_dirs(bin_dir: Path) -> ExtensionDirs:
    """Ask the installation's own ``pg_config`` (relocatable trees compute their paths)."""
    pg_config = bin_dir / "pg_config"
    if not pg_config.exists():
        share = bin_dir.parent / "share"
        share = share / "postgresql" if (share / "postgresql").is_dir() else share
        lib = bin_dir.parent / "lib"
        lib = lib / "postgresql" if (lib / "postgresql").is_dir() else lib
        return ExtensionDirs(lib, share / "extension")
    out = subprocess.run(
        [str(pg_config), "--pkglibdir", "--sharedir"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\n")
    return ExtensionDirs(Path(out[0].strip()), Path(out[1].strip()) / "extension")


def control_version(dirs: ExtensionDirs) -> str | None:
    """``default_version`` from ``vector.control``, or None when pgvector is not installed."""
    if not dirs.control.exists():
        return None
    for line in dirs.control.read_text().splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "default_version":
            return value.strip().strip("'\"")
    return None


def _install_file(src: Path, dst: Path, mode: int) -> None:
    """``install(1)`` semantics: write a new inode next to ``dst``, then rename over it."""
    fd, tmp = tempfile.mkstemp(prefix=f".{dst.name}.", dir=dst.parent)
    os.close(fd)
    try:
        shutil.copyfile(src, tmp)
        os.chmod(tmp, mode)
        os.replace(tmp, dst)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def replace_package(old: ExtensionDirs, new: ExtensionDirs) -> None:
    """Remove pgvector's files from ``old`` and install the ones found in ``new``."""
    if not new.library.exists() or not new.control.exists():
        raise VecpatchError(f"no pgvector build found under {new.pkglibdir.parent}")
    old.control.unlink(missing_ok=True)
    for script in old.scripts():
        script.unlink()
    _install_file(new.library, old.library, 0o755)
    _install_file(new.control, old.control, 0o644)
    for script in new.scripts():
        _install_file(script, old.extdir / script.name, 0o644)


def replace_library(old: ExtensionDirs, new_library: Path) -> None:
    """Swap only ``vector.so`` (test scenarios: foreign major, old library under new catalog)."""
    _install_file(new_library, old.library, 0o755)
