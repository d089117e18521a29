"""Host facts: what the database host's package manager and process table say.

Read only when a target names how to reach its host (``host_command = "local"`` or a
prefix such as ``"ssh db1"``). A scan compares them with what the server reports:
binaries upgraded under a running postmaster (``PENDING_RESTART``), a pgvector package
changed after the postmaster started (``LIBRARY_REPLACED``). Frozen values; the reading
lives in :mod:`.hostread`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class PackageOffer:
    """One package: installed version, the candidate, and every version the archive offers."""

    name: str
    installed: str | None
    candidate: str | None
    versions: tuple[str, ...] = ()
    """Package versions the configured repositories offer, newest first."""
    changed_at: datetime | None = None
    """When the installed package's files were last written (dpkg's list file, rpm's time)."""

    def upstream_versions(self) -> tuple[str, ...]:
        return tuple(upstream(v) for v in self.versions)


@dataclass(frozen=True)
class Cluster:
    """A cluster ``pg_lsclusters`` lists."""

    version: str
    name: str
    port: int
    status: str
    data_directory: str
    log_file: str | None


@dataclass(frozen=True)
class Postmaster:
    """The running server process and the binary it was started from."""

    pid: int
    exe: str
    deleted: bool
    """``/proc/PID/exe`` points at a file that was replaced or removed (an upgrade)."""
    disk_version: str | None
    """What ``postgres --version`` at that path says today."""


@dataclass(frozen=True)
class HostFacts:
    """What the host said, and what could not be read (never silently empty)."""

    access: str
    """``local`` or the command prefix used."""
    manager: str | None
    """``apt`` or ``dnf``; ``None`` when neither is there."""
    packages: tuple[PackageOffer, ...] = ()
    clusters: tuple[Cluster, ...] = ()
    postmaster: Postmaster | None = None
    problems: tuple[str, ...] = ()

    def package(self, name: str) -> PackageOffer | None:
        return next((p for p in self.packages if p.name == name), None)


_UPSTREAM = re.compile(r"^(?:\d+:)?([0-9][0-9.]*)")


def upstream(package_version: str) -> str:
    """``15.20-0+deb12u1`` -> ``15.20``; ``0.8.0-1.pgdg120+1`` -> ``0.8.0``; ``1:0.8.1-2`` ->
    ``0.8.1`` (epoch and packaging revision dropped)."""
    found = _UPSTREAM.match(package_version)
    return found.group(1).rstrip(".") if found else package_version
