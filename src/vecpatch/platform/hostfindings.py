"""Findings from host facts: binaries or pgvector changed under a running server.

``PENDING_RESTART``: the postmaster runs a binary that was replaced on disk (``/proc/PID/exe``
deleted) or the binary at its path now reports another version: the upgrade is installed
but not in effect until a restart. ``LIBRARY_REPLACED``: the pgvector package was written
after the postmaster started: sessions that loaded ``vector.so`` before keep the old code.
"""

from __future__ import annotations

from vecpatch.findings import Finding, FindingKind
from vecpatch.platform.steps import restart_command
from vecpatch.probe.facts import TargetFacts


def host_findings(facts: TargetFacts) -> list[Finding]:
    """What host facts add to a target's server-level findings."""
    host, server = facts.host_facts, facts.server
    if host is None or server is None:
        return []
    found: list[Finding] = []
    restart = restart_command(server.platform, str(server.major)) if server.platform else "restart"
    pm = host.postmaster
    if pm is not None and (pm.deleted or (pm.disk_version and pm.disk_version != server.version)):
        why = [
            f"postmaster pid {pm.pid} runs {pm.exe}" + (" (deleted on disk)" if pm.deleted else "")
        ]
        if pm.disk_version:
            why.append(
                f"the binary on disk is PostgreSQL {pm.disk_version}; "
                f"the server reports {server.version}"
            )
        found.append(
            Finding(
                kind=FindingKind.PENDING_RESTART,
                severity="medium",
                target=facts.target,
                database=None,
                product="postgresql",
                title=f"PostgreSQL binaries were upgraded; the server still runs {server.version}",
                next_action=f"restart the server to use them: {restart}",
                reasons=tuple(why),
                installed_version=server.version,
                fix_version=pm.disk_version,
            )
        )
    package = host.package(f"postgresql-{server.major}-pgvector") or host.package(
        f"pgvector_{server.major}"
    )
    if (
        package is not None
        and package.changed_at is not None
        and package.changed_at > server.started_at
    ):
        found.append(
            Finding(
                kind=FindingKind.LIBRARY_REPLACED,
                severity="low",
                target=facts.target,
                database=None,
                product="pgvector",
                title=f"pgvector package {package.name} {package.installed} was installed after "
                "the server started",
                next_action="sessions opened before keep the old vector.so: reconnect them, or "
                f"restart ({restart})",
                reasons=(
                    f"package written {package.changed_at.isoformat()}, postmaster started "
                    f"{server.started_at.isoformat()}",
                ),
                installed_version=package.installed,
            )
        )
    return found
