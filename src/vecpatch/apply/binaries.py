"""Finding ``pg_dump``/``pg_restore`` that can read the server, without asking for them.

pg_dump refuses servers of a newer major than itself, and a dump is checked with the
``pg_restore`` of the same folder, so a client set is a folder holding both, at least as
new as the server. Tried in order: ``--pg-bin DIR``, ``PATH``, the distributions'
per-version folders (``/usr/lib/postgresql/N/bin``, ``/usr/pgsql-N/bin``), the sandbox's
build cache, and finally the newest build vecpatch can download (its PostgreSQL 18 client
dumps every server up to 18). The first fit wins and says where it came from.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from vecpatch.errors import VecpatchError
from vecpatch.sandbox import builds

DISTRO_DIRS = ("/usr/lib/postgresql/{n}/bin", "/usr/pgsql-{n}/bin")
TOOLS = ("pg_dump", "pg_restore")


class BinariesNotFound(VecpatchError):
    """No usable pg_dump/pg_restore; the message says what was tried."""


@dataclass(frozen=True)
class ClientTools:
    """A folder with ``pg_dump`` and ``pg_restore`` of one major, and how it was found."""

    bin_dir: Path
    major: int
    origin: str
    """``--pg-bin``, ``PATH``, ``distribution folder``, ``sandbox build cache`` or
    ``downloaded build``."""

    def tool(self, name: str) -> Path:
        return self.bin_dir / name

    @property
    def label(self) -> str:
        return f"PostgreSQL {self.major} client in {self.bin_dir} ({self.origin})"


@cache
def _major(tool: Path) -> int | None:
    try:
        out = subprocess.run(
            [str(tool), "--version"], capture_output=True, text=True, timeout=20, check=False
        ).stdout
    except OSError:
        return None
    found = re.search(r"\)\s+(\d+)", out) or re.search(r"(\d+)(?:\.\d+)?", out)
    return int(found.group(1)) if found else None


def _complete(bin_dir: Path) -> bool:
    return all((bin_dir / name).exists() for name in TOOLS)


def _on_path() -> Iterator[Path]:
    found = shutil.which("pg_dump")
    if found is not None:
        folder = Path(found).parent
        if _complete(folder):
            yield folder


def _distro() -> Iterator[Path]:
    """Each distribution folder that exists, oldest major first (closest to the server)."""
    found = [
        (n, Path(pattern.format(n=n)))
        for pattern in DISTRO_DIRS
        for n in range(10, 30)
        if _complete(Path(pattern.format(n=n)))
    ]
    yield from (folder for _, folder in sorted(found))


def _cached() -> Iterator[Path]:
    """Client folders of builds already unpacked in the cache, oldest major first."""
    for build in sorted(builds.BUILDS, key=lambda b: builds.version_tuple(b.pg)):
        root = builds.build_root(build)
        if builds.is_complete(root):
            try:
                yield builds.install_parts(build, root)[0] / "bin"
            except VecpatchError:
                continue


def _fits(folder: Path, server_major: int) -> int | None:
    major = _major(folder / "pg_dump")
    return major if major is not None and major >= server_major else None


def find_clients(server_major: int, pg_bin: Path | None, *, download: bool = True) -> ClientTools:
    """The first client set that can dump a server of ``server_major``."""
    if pg_bin is not None:
        return _given(pg_bin, server_major)
    tried: list[str] = []
    tiers = (("PATH", _on_path), ("distribution folder", _distro), ("sandbox build cache", _cached))
    for origin, candidates in tiers:
        for folder in candidates():
            major = _fits(folder, server_major)
            if major is not None:
                return ClientTools(folder, major, origin)
            tried.append(f"{folder} (PostgreSQL {_major(folder / 'pg_dump') or '?'})")
    if download:
        found = _download(server_major, tried)
        if found is not None:
            return found
    raise BinariesNotFound(
        f"no pg_dump/pg_restore for PostgreSQL {server_major} or newer; tried "
        f"{', '.join(tried) or 'PATH (none)'}; pass --pg-bin DIR"
    )


def _given(pg_bin: Path, server_major: int) -> ClientTools:
    for name in TOOLS:
        if not (pg_bin / name).exists():
            raise BinariesNotFound(f"{name} not found in --pg-bin {pg_bin}")
    major = _major(pg_bin / "pg_dump")
    if major is not None and major < server_major:
        raise BinariesNotFound(
            f"--pg-bin {pg_bin} is PostgreSQL {major}, older than the server ({server_major})"
        )
    return ClientTools(pg_bin, major or server_major, "--pg-bin")


def _download(server_major: int, tried: list[str]) -> ClientTools | None:
    newest = max(builds.BUILDS, key=lambda b: builds.version_tuple(b.pg))
    if newest.pg_major < server_major:
        return None
    try:
        root = builds.ensure_build(newest)
        folder = builds.install_parts(newest, root)[0] / "bin"
    except VecpatchError as exc:
        tried.append(f"download of {newest.label}: {exc}")
        return None
    major = _fits(folder, server_major)
    return ClientTools(folder, major, "downloaded build") if major is not None else None
