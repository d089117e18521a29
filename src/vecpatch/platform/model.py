"""The platform a server runs on, and the raw markers it was inferred from."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class PlatformKind(StrEnum):
    """Where a server's binaries come from and who patches them."""

    DEBIAN = "debian"
    UBUNTU = "ubuntu"
    PGDG_APT = "pgdg-apt"
    PGDG_YUM = "pgdg-yum"
    RHEL = "rhel"
    DOCKER = "docker"
    CLOUDNATIVEPG = "cloudnativepg"
    RDS = "rds"
    AURORA = "aurora"
    CLOUDSQL = "cloudsql"
    ALLOYDB = "alloydb"
    AZURE = "azure"
    SUPABASE = "supabase"
    NEON = "neon"
    HOMEBREW = "homebrew"
    SOURCE = "source"
    SANDBOX = "sandbox"
    UNKNOWN = "unknown"

    @property
    def managed(self) -> bool:
        """A provider owns the binaries: only its engine upgrades change them."""
        return self in MANAGED


MANAGED = frozenset(
    {
        PlatformKind.RDS,
        PlatformKind.AURORA,
        PlatformKind.CLOUDSQL,
        PlatformKind.ALLOYDB,
        PlatformKind.AZURE,
        PlatformKind.SUPABASE,
        PlatformKind.NEON,
    }
)


@dataclass(frozen=True)
class Platform:
    """The inferred (or configured) platform and the evidence that led to it."""

    kind: PlatformKind
    evidence: tuple[str, ...] = ()
    configured: bool = False
    """True when the targets file's ``platform`` key set it (the evidence says what was seen)."""


@dataclass(frozen=True)
class PlatformMarkers:
    """What one connection could see about where the server runs (``None``: not readable)."""

    version_string: str
    cluster_name: str = ""
    data_directory: str | None = None
    config_file: str | None = None
    hba_file: str | None = None
    archive_command: str | None = None
    settings: tuple[str, ...] = ()
    """Names of provider settings that exist on the server (``rds.extensions``, ``neon.*``)."""
    roles: tuple[str, ...] = ()
    """Provider roles that exist (``rds_superuser``, ``cloudsqlsuperuser``)."""
    functions: tuple[str, ...] = ()
    """Provider functions that exist (``aurora_version``)."""
    pg_config: dict[str, str] | None = field(default=None)
    """The ``pg_config`` view (superusers only): ``BINDIR``, ``CONFIGURE``, ..."""
    dockerenv: bool | None = None
    """Whether ``/.dockerenv`` exists on the server's host (superusers only)."""
