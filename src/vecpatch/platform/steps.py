"""The commands a platform needs for a pgvector package step and a PostgreSQL minor step.

Pure: the platform (detected or configured), the versions asked for and, when host facts
were read, what the host's archive really offers. Only the detected platform's lines are
printed; ``unknown`` gets every family's, each labelled, and a hint to set ``platform``.
"""

from __future__ import annotations

from collections.abc import Sequence

from vecpatch.catalog.versions import PgvectorVersion
from vecpatch.platform.ceilings import ceilings, upgrade_command
from vecpatch.platform.host import HostFacts, upstream
from vecpatch.platform.model import Platform, PlatformKind
from vecpatch.sandbox import builds

Step = tuple[str, str]

_APT = (PlatformKind.DEBIAN, PlatformKind.UBUNTU, PlatformKind.PGDG_APT)
PGDG_APT_SETUP = (
    "apt-get install -y postgresql-common && "
    "/usr/share/postgresql-common/pgdg/apt.postgresql.org.sh -y"
)
PGDG_YUM_SETUP = (
    "dnf install -y https://download.postgresql.org/pub/repos/yum/reporpms/"
    "EL-$(rpm -E %rhel)-x86_64/pgdg-redhat-repo-latest.noarch.rpm && "
    "dnf -qy module disable postgresql"
)


def pgvector_package(kind: PlatformKind, pg_major: str) -> str | None:
    """The package that carries pgvector for ``pg_major`` on a packaged platform."""
    if kind in _APT:
        return f"postgresql-{pg_major}-pgvector"
    if kind is PlatformKind.PGDG_YUM:
        return f"pgvector_{pg_major}"
    if kind is PlatformKind.RHEL:
        return "pgvector"
    return None


def server_package(kind: PlatformKind, pg_major: str) -> str | None:
    """The package of the server binaries (what a minor update installs)."""
    if kind in _APT:
        return f"postgresql-{pg_major}"
    if kind is PlatformKind.PGDG_YUM:
        return f"postgresql{pg_major}-server"
    if kind is PlatformKind.RHEL:
        return "postgresql-server"
    return None


def restart_command(platform: Platform, pg_major: str) -> str:
    """How this platform restarts the server (new binaries are used only after it)."""
    kind = platform.kind
    if kind in _APT:
        return f"pg_ctlcluster {pg_major} {platform.cluster or 'main'} restart"
    if kind is PlatformKind.PGDG_YUM:
        return f"systemctl restart postgresql-{pg_major}"
    if kind is PlatformKind.RHEL:
        return "systemctl restart postgresql"
    if kind is PlatformKind.HOMEBREW:
        return f"brew services restart postgresql@{pg_major}"
    if kind is PlatformKind.DOCKER:
        return "recreate the container from the new image (docker compose up -d)"
    if kind is PlatformKind.CLOUDNATIVEPG:
        return "the operator restarts the instances one by one (rolling update, then switchover)"
    if kind is PlatformKind.SANDBOX:
        return "vecpatch sandbox stop NAME && vecpatch sandbox start NAME"
    if kind.managed:
        return "the provider restarts it during the engine upgrade"
    return f"pg_ctl -D {platform.data_directory or 'DATA'} restart"


def sandbox_minors(pg_major: str) -> tuple[str, ...]:
    """The PostgreSQL versions sandbox builds exist for, newest first (what a sandbox "offers")."""
    found = {b.pg for b in builds.available_pairs() if str(b.pg_major) == pg_major}
    return tuple(sorted(found, key=builds.version_tuple, reverse=True))


def _matching(offered: Sequence[str], version: str) -> str | None:
    """The newest package version whose upstream part is ``version``."""
    return next((v for v in offered if upstream(v) == version), None)


def offered_package_version(
    platform: Platform, version: str, pg_major: str, host: HostFacts | None
) -> str | None:
    """The exact pgvector package version the host offers for ``version`` (None: unknown)."""
    package = pgvector_package(platform.kind, pg_major)
    offer = host.package(package) if host is not None and package else None
    return _matching(offer.versions, version) if offer is not None else None


def pgvector_steps(
    platform: Platform, version: str, pg_major: str, host: HostFacts | None, on_server: str | None
) -> tuple[Step, ...]:
    """Commands that put pgvector ``version`` on disk for ``pg_major`` on this platform."""
    kind = platform.kind
    if kind in _APT or kind in (PlatformKind.PGDG_YUM, PlatformKind.RHEL):
        return _packaged_pgvector(platform, version, pg_major, host)
    if kind.managed:
        return _managed_pgvector(kind, version, int(pg_major), on_server)
    return _other_pgvector(platform, version, pg_major)


def _packaged_pgvector(
    platform: Platform, version: str, pg_major: str, host: HostFacts | None
) -> tuple[Step, ...]:
    kind = platform.kind
    package = pgvector_package(kind, pg_major) or "pgvector"
    apt = kind in _APT
    install = "apt-get install -y" if apt else "dnf install -y"
    offer = host.package(package) if host else None
    if offer is not None and offer.versions:
        exact = _matching(offer.versions, version)
        if exact is not None:
            return (
                (
                    f"{kind.value}: install (offered by the host's repositories)",
                    f"{install} {package}={exact}" if apt else f"{install} {package}-{exact}",
                ),
            )
        newest = offer.versions[0]
        steps: list[Step] = [
            (
                f"{kind.value}: not offered",
                f"the host's repositories offer {package} "
                f"{', '.join(offer.versions[:4])}; pgvector {version} is not among them",
            )
        ]
        if upstream(newest) and apt:
            steps.append(("nearest offered", f"{install} {package}={newest}"))
        return (*steps, *_pgdg_fallback(kind, version, pg_major))
    if kind is PlatformKind.PGDG_APT:
        return (("pgdg-apt", f"apt-get update && {install} {package}={version}-*"),)
    if kind is PlatformKind.PGDG_YUM:
        return (("pgdg-yum", f"{install} {package}-{version}"),)
    if kind is PlatformKind.DEBIAN:
        return (
            (
                "debian",
                f"Debian's own archive has {package} only from Debian 13 (trixie: 0.8.0) "
                "and not for every major; for another version use PGDG",
            ),
            *_pgdg_fallback(kind, version, pg_major),
        )
    if kind is PlatformKind.UBUNTU:
        return (
            (
                "ubuntu",
                f"{install} {package} installs the version of the Ubuntu release (check: "
                f"apt-cache policy {package}); for {version} use PGDG",
            ),
            *_pgdg_fallback(kind, version, pg_major),
        )
    return (
        ("rhel", f"dnf info pgvector shows what the distribution's streams offer; for {version} "
         "use PGDG"),
        *_pgdg_fallback(kind, version, pg_major),
    )  # fmt: skip


def _pgdg_fallback(kind: PlatformKind, version: str, pg_major: str) -> tuple[Step, ...]:
    if kind in _APT:
        pkg = f"postgresql-{pg_major}-pgvector"
        return (
            ("add PGDG (once)", PGDG_APT_SETUP),
            ("then", f"apt-get install -y {pkg}={version}-*"),
            ("note", f"PGDG's postgresql-{pg_major} replaces the distribution's at the next "
             "upgrade: PGDG then decides the server's minor versions"),
        )  # fmt: skip
    return (
        ("add PGDG (once)", PGDG_YUM_SETUP),
        ("then", f"dnf install -y pgvector_{pg_major}-{version}"),
        ("note", f"PGDG's postgresql{pg_major}-server installs beside the distribution's "
         "postgresql-server: a different data directory and service"),
    )  # fmt: skip


def _managed_pgvector(
    kind: PlatformKind, version: str, pg_major: int, on_server: str | None
) -> tuple[Step, ...]:
    steps: list[Step] = [
        (kind.value, f"the provider decides the pgvector files: this engine version offers "
         f"{on_server or 'none'} (the server's default_version); {version} needs an engine "
         "version that ships it"),
    ]  # fmt: skip
    known = ceilings(kind, pg_major)
    if known:
        steps += [("known", c.describe()) for c in known]
    else:
        steps.append(("known", f"no public source recorded for {kind.value} and PostgreSQL "
                      f"{pg_major}: which engine version ships {version} is unknown"))  # fmt: skip
    how = upgrade_command(kind)
    if how:
        steps.append(("upgrade", how))
    return tuple(steps)


def _other_pgvector(platform: Platform, version: str, pg_major: str) -> tuple[Step, ...]:
    kind = platform.kind
    newer = PgvectorVersion.parse(version) >= PgvectorVersion.parse("0.8.1")
    suffix = f" (or {version}-pg{pg_major}-bookworm / -trixie)" if newer else ""
    docker = f"pgvector/pgvector:{version}-pg{pg_major}{suffix}"
    table: dict[PlatformKind, tuple[Step, ...]] = {
        PlatformKind.DOCKER: (
            ("docker", f"run image {docker} on the same volume; a new image does not update "
             "existing databases (ALTER EXTENSION does)"),
        ),
        PlatformKind.CLOUDNATIVEPG: (
            ("cloudnativepg", f"set spec.imageName of the Cluster to an image with pgvector "
             f"{version} for PostgreSQL {pg_major}; the operator rolls the instances"),
            ("cloudnativepg", f"or declare it: a Database resource with spec.extensions "
             f"[{{name: vector, version: '{version}'}}] (CloudNativePG 1.26+)"),
        ),
        PlatformKind.HOMEBREW: (
            ("homebrew", "brew upgrade pgvector (Homebrew ships only the latest release)"),
        ),
        PlatformKind.SOURCE: (
            ("source", f"git checkout v{version} && make && make install "
             f"(PG_CONFIG of PostgreSQL {pg_major})"),
        ),
        PlatformKind.SANDBOX: _sandbox_pgvector(version, pg_major),
    }  # fmt: skip
    if kind in table:
        return table[kind]
    return _unknown_pgvector(version, pg_major, docker)


def _sandbox_pgvector(version: str, pg_major: str) -> tuple[Step, ...]:
    """A sandbox takes pgvector only from the builds vecpatch has for its major."""
    same = [b for b in builds.available_pairs() if str(b.pg_major) == pg_major]
    if any(b.pgvector == version for b in same):
        return (("sandbox", f"vecpatch sandbox install-extension NAME {version}"),)
    have = ", ".join(sorted({b.pgvector for b in same}, key=builds.version_tuple)) or "none"
    return (
        ("sandbox", f"no sandbox build has pgvector {version} for PostgreSQL {pg_major} "
         f"(builds for {pg_major}: {have})"),
    )  # fmt: skip


def _unknown_pgvector(version: str, pg_major: str, docker: str) -> tuple[Step, ...]:
    return (
        ("platform unknown", "set platform = \"...\" for this target to see only its steps"),
        ("Debian/Ubuntu (PGDG apt)", f"apt-get install postgresql-{pg_major}-pgvector={version}-*"),
        ("RHEL/Rocky/Alma (PGDG yum)", f"dnf install pgvector_{pg_major}-{version}"),
        ("Docker", f"use image {docker}; a new image does not update existing databases"),
        ("Homebrew", "brew upgrade pgvector (Homebrew ships only the latest release)"),
        ("from source", f"git checkout v{version} && make && make install "
         f"(PG_CONFIG of {pg_major})"),
        ("managed services", "RDS/Aurora, Cloud SQL, AlloyDB, Azure: the pgvector version comes "
         "with the engine minor version; upgrade the engine minor, then run ALTER EXTENSION"),
    )  # fmt: skip


def minor_steps(
    platform: Platform, target: str, pg_major: str, exact: str | None
) -> tuple[Step, ...]:
    """Commands for the PostgreSQL minor update to ``target`` (``exact``: the package version
    the host offers), ending with the platform's restart."""
    kind = platform.kind
    package = server_package(kind, pg_major)
    restart = ("restart", restart_command(platform, pg_major))
    if kind in _APT and package:
        version = exact or f"{target}-*"
        return (("install", f"apt-get install -y {package}={version}"), restart)
    if kind in (PlatformKind.PGDG_YUM, PlatformKind.RHEL) and package:
        return (("install", f"dnf install -y {package}-{exact or target}"), restart)
    if kind is PlatformKind.DOCKER:
        image = f"pull a new tag with PostgreSQL {target} (postgres:{target}, or pgvector/pgvector"
        return (("image", f"{image} rebuilt on it)"), restart)
    if kind is PlatformKind.CLOUDNATIVEPG:
        return (("image", f"set spec.imageName to a PostgreSQL {target} image"), restart)
    if kind is PlatformKind.HOMEBREW:
        return (("install", f"brew upgrade postgresql@{pg_major}"), restart)
    if kind.managed:
        return (("engine", upgrade_command(kind) or "upgrade the engine minor version"),)
    if kind is PlatformKind.SANDBOX:
        return (("sandbox", f"vecpatch sandbox pg-minor NAME {target}"),)
    return (("install", f"install the PostgreSQL {target} binaries"), restart)
