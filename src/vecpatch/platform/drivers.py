"""Built-in package drivers: the plan's own commands, run on the host with exact versions.

A driver never guesses: it needs the exact package version the host's archive offers (host
facts) and runs the platform's install and restart through the target's ``host_command``.
What it asked for is verified afterwards by the caller (server version, ``default_version``).
"""

from __future__ import annotations

from vecpatch.plan import PackageStep, PgMinorStep
from vecpatch.platform.hostread import wrap
from vecpatch.platform.model import PlatformKind
from vecpatch.platform.steps import pgvector_package

APT_ENV = "DEBIAN_FRONTEND=noninteractive"
APT_OPTS = "-o Dpkg::Options::=--force-confold"
_INSTALL = {"apt": f"{APT_ENV} apt-get install -y -q {APT_OPTS}", "dnf": "dnf install -y -q"}


class DriverRefused(Exception):
    """The driver cannot run this step; the message says what is missing."""


def minor_command(driver: str, access: str | None, step: PgMinorStep) -> str:
    """The shell command that installs ``step.target`` and restarts the server."""
    if access is None:
        raise DriverRefused(f"driver {driver} needs host_command (local or a prefix)")
    if step.package_version is None or not step.commands:
        raise DriverRefused(
            f"driver {driver}: the host offers no package of PostgreSQL {step.target} "
            "(or host facts were not read); nothing exact to install"
        )
    install, *rest = (cmd for _, cmd in step.commands)
    prefix = "apt-get install -y" if driver == "apt" else "dnf install -y"
    if not install.startswith(prefix):
        raise DriverRefused(f"driver {driver} does not match the platform's step: {install}")
    command = " && ".join([_INSTALL[driver] + install[len(prefix) :], *rest])
    return wrap(access, command)


def package_command(driver: str, access: str | None, step: PackageStep) -> str:
    """The shell command that installs pgvector ``step.version`` exactly."""
    if access is None:
        raise DriverRefused(f"driver {driver} needs host_command (local or a prefix)")
    package = pgvector_package(PlatformKind(step.platform), step.pg_major)
    if step.package_version is None or package is None:
        raise DriverRefused(
            f"driver {driver}: the host offers no package of pgvector {step.version} for "
            f"PostgreSQL {step.pg_major} (or host facts were not read)"
        )
    sep = "=" if driver == "apt" else "-"
    return wrap(access, f"{_INSTALL[driver]} {package}{sep}{step.package_version}")
