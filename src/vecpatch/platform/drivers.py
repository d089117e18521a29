"""Built-in package drivers: the plan's own commands, run on the host with exact versions.

A driver never guesses: it needs the exact package version the host's archive offers (host
facts) and runs the platform's install and restart through the target's ``host_command``.
What it asked for is verified afterwards by the caller (server version, ``default_version``).
"""

from __future__ import annotations

from vecpatch.errors import UsageError
from vecpatch.platform.hostread import wrap
from vecpatch.platform.model import PlatformKind
from vecpatch.platform.steps import pgvector_package

APT_ENV = "DEBIAN_FRONTEND=noninteractive"
APT_OPTS = "-o Dpkg::Options::=--force-confold"
_INSTALL = {"apt": f"{APT_ENV} apt-get install -y -q {APT_OPTS}", "dnf": "dnf install -y -q"}


class DriverRefused(UsageError):
    """The driver cannot run this step; the message says what is missing (a configuration
    problem of the target, so a usage error wherever it escapes)."""


def minor_command(
    driver: str,
    access: str | None,
    target: str,
    package_version: str | None,
    commands: tuple[tuple[str, str], ...],
) -> str:
    """The shell command that installs PostgreSQL ``target`` and restarts the server
    (``commands``: the plan's install and restart for this platform)."""
    if access is None:
        raise DriverRefused(f"driver {driver} needs host_command (local or a prefix)")
    if package_version is None or not commands:
        raise DriverRefused(
            f"driver {driver}: the host offers no package of PostgreSQL {target} "
            "(or host facts were not read); nothing exact to install"
        )
    install, *rest = (cmd for _, cmd in commands)
    prefix = "apt-get install -y" if driver == "apt" else "dnf install -y"
    if not install.startswith(prefix):
        raise DriverRefused(f"driver {driver} does not match the platform's step: {install}")
    command = " && ".join([_INSTALL[driver] + install[len(prefix) :], *rest])
    return wrap(access, command)


def package_command(
    driver: str,
    access: str | None,
    platform: str,
    pg_major: str,
    version: str,
    package_version: str | None,
) -> str:
    """The shell command that installs pgvector ``version`` exactly (``package_version``)."""
    if access is None:
        raise DriverRefused(f"driver {driver} needs host_command (local or a prefix)")
    package = pgvector_package(PlatformKind(platform), pg_major)
    if package_version is None or package is None:
        raise DriverRefused(
            f"driver {driver}: the host offers no package of pgvector {version} for "
            f"PostgreSQL {pg_major} (or host facts were not read)"
        )
    sep = "=" if driver == "apt" else "-"
    return wrap(access, f"{_INSTALL[driver]} {package}{sep}{package_version}")
