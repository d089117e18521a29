"""Where staging runs and how the package step is done there.

Three kinds of staging target, one shape: a staging DSN the operator owns (package
step by the target's hook, or skipped when the version is already on disk), a named
vecpatch sandbox (package step by ``install_extension``, like an OS package upgrade),
or a sandbox cloned from production (:mod:`vecpatch.stage.clone`). The password lives
only in the endpoint's connection parameters and, for child processes, ``PGPASSWORD``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from vecpatch.apply.hooks import run_hook
from vecpatch.apply.session import Endpoint
from vecpatch.errors import UsageError, VecpatchError
from vecpatch.pgerrors import first_line
from vecpatch.placeholders import fill
from vecpatch.sandbox import Sandbox
from vecpatch.stage.db import scalar
from vecpatch.stage.model import Check
from vecpatch.targets import ConnInfoError, Target, resolve_conninfo

STATEMENT_TIMEOUT = 600.0


@dataclass
class Staging:
    """A staging database and the means to change its packages."""

    kind: str  # "dsn", "sandbox" or "clone"
    target: Target = field(repr=False)
    endpoint: Endpoint = field(repr=False)
    sandbox: Sandbox | None = None
    package_hook: str | None = None
    pg_bin: Path | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def database(self) -> str:
        return self.endpoint.database

    def describe(self) -> dict[str, Any]:
        """What the report says about the staging target (no secrets)."""
        doc: dict[str, Any] = {
            "kind": self.kind,
            "name": self.target.name,
            "database": self.database,
            "dsn": self.target.display_dsn,
        }
        if self.sandbox is not None:
            doc |= {"sandbox": self.sandbox.name, "pg": self.sandbox.pg_version}
        if self.notes:
            doc["notes"] = list(self.notes)
        return doc


def endpoint_for(target: Target, run_id: str) -> Endpoint:
    resolved = resolve_conninfo(target)
    if isinstance(resolved, ConnInfoError):
        raise UsageError(f"staging target {target.name}: {resolved.reason}")
    database = str(resolved.params.get("dbname") or resolved.params.get("user") or "postgres")
    return Endpoint(target.name, database, resolved, f"vecpatch stage {run_id[:8]}")


def from_dsn(dsn: str, run_id: str, package_hook: str | None, pg_bin: Path | None) -> Staging:
    try:
        params = conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        raise UsageError("--staging is not a valid connection string") from None
    name = f"staging:{params.get('host') or 'local'}"
    target = Target(
        name="".join(c if c.isalnum() or c in ".:_-" else "-" for c in name),
        dsn=dsn,
        statement_timeout=STATEMENT_TIMEOUT,
        package_hook=package_hook,
    )
    return Staging("dsn", target, endpoint_for(target, run_id), None, package_hook, pg_bin)


def from_sandbox(
    sandbox: Sandbox, run_id: str, database: str | None, kind: str = "sandbox"
) -> Staging:
    if not sandbox.is_running():
        sandbox.start()
    dbname = database or sandbox.meta.extra.get("sample_db") or "postgres"
    target = Target(
        name=f"sandbox:{sandbox.name}", dsn=sandbox.dsn(dbname), statement_timeout=STATEMENT_TIMEOUT
    )
    return Staging(kind, target, endpoint_for(target, run_id), sandbox, None, sandbox.bin_dir)


def on_disk(endpoint: Endpoint, version: str) -> bool:
    with endpoint.connect() as conn:
        found = scalar(
            conn,
            sql.SQL(
                "SELECT 1 FROM pg_available_extension_versions "
                "WHERE name = 'vector' AND version = {}"
            ).format(sql.Literal(version)),
        )
    return found is not None


def package_step(staging: Staging, version: str, pg_major: str) -> Check:
    """Put ``version``'s files on disk: sandbox install, the hook, or nothing to do."""
    name = f"pgvector {version} on disk"
    if on_disk(staging.endpoint, version):
        return Check(name, True, "already on disk: package step skipped")
    if staging.sandbox is not None:
        try:
            build = staging.sandbox.install_extension(version)
        except VecpatchError as exc:
            return Check(name, False, f"sandbox install-extension failed: {exc.message}")
        return Check(name, True, f"installed by the sandbox from {build.label}")
    if not staging.package_hook:
        return Check(name, False, "not on disk and no --package-hook (or target package_hook)")
    command = fill(
        staging.package_hook,
        {"host": staging.endpoint.host, "pg_major": pg_major, "version": version},
    )
    _conninfo, env = staging.endpoint.child_env()
    result = run_hook(command, env, staging.endpoint.secrets)
    if not result.ok:
        return Check(name, False, f"package hook exited {result.returncode}: {result.output}")
    if not on_disk(staging.endpoint, version):
        return Check(name, False, f"package hook succeeded but {version} is still not on disk")
    return Check(name, True, f"package hook: {result.command} ({result.duration:.1f} s)")


def restore_package(staging: Staging, version: str, pg_major: str) -> Check:
    """Put the *old* version back on disk before a restore (pgvector ships one install script)."""
    try:
        return package_step(staging, version, pg_major)
    except psycopg.Error as exc:
        why = f"could not check the files on disk: {staging.endpoint.clean(first_line(exc))}"
        return Check(f"pgvector {version} on disk", False, why)


NEIGHBOURS = sql.SQL(
    "SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate "
    "AND datname <> current_database() ORDER BY datname"
)


def neighbours_at_other_versions(staging: Staging, version: str) -> list[str]:
    """Other databases of the server whose pgvector is not ``version`` (or cannot be read).

    The package is the whole server's: putting ``version``'s files back would leave these
    with a catalog their library no longer matches. A database that cannot be read counts
    as one that would break: the drill must prove it harms nothing, not hope so.
    """
    with staging.endpoint.connect() as conn:
        names = [str(r[0]) for r in conn.execute(NEIGHBOURS).fetchall()]
    found = []
    for name in names:
        try:
            with staging.endpoint.connect(dbname=name) as conn:
                have = scalar(
                    conn, sql.SQL("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
                )
        except psycopg.Error as exc:
            found.append(f"{name} (not readable: {staging.endpoint.clean(first_line(exc))})")
            continue
        if have is not None and str(have) != version:
            found.append(f"{name} (pgvector {have})")
    return found
