"""``vecpatch migration``: the extension update as a migration for Alembic, Flyway, Sqitch or psql.

Teams whose schema changes go through a migration tool want the pgvector update in the
same history. The generated SQL carries apply's guards in plain SQL, so it is safe
whoever runs it:

- a DO block that raises unless the installed version is the expected one (``--from``)
  or already the target, and unless an update path exists: the migration is idempotent
  and refuses to run against a database it was not written for;
- ``SET LOCAL lock_timeout`` so the update never queues behind a long transaction
  while blocking every query that comes after it;
- a check of ``extversion`` after the update, inside the same transaction.

pgvector ships no downgrade scripts, so every "down" step says so and points at the
backup instead of pretending.

Statements are composed with :mod:`psycopg.sql` (versions are validated first and then
bound as literals). The DO bodies avoid ``%`` and ``:`` so that Alembic's ``text()``
and Flyway's placeholder handling leave them untouched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path

from psycopg import sql

from vecpatch.catalog.versions import PgvectorVersion
from vecpatch.errors import UsageError

NO_DOWNGRADE = (
    "pgvector ships no downgrade scripts: to go back, restore the backup taken before "
    "the update (vecpatch rollback RUN_ID restores a vecpatch apply backup)"
)


class Tool(StrEnum):
    ALEMBIC = "alembic"
    FLYWAY = "flyway"
    SQITCH = "sqitch"
    RAW = "raw"


@dataclass(frozen=True)
class Spec:
    """What the migration does."""

    to: str
    expected: str | None = None
    lock_timeout_ms: int = 2000

    @classmethod
    def checked(cls, to: str, expected: str | None, lock_timeout_ms: int) -> Spec:
        """Versions are validated (they end up inside SQL) before anything is rendered."""
        try:
            target = str(PgvectorVersion.parse(to))
            start = str(PgvectorVersion.parse(expected)) if expected else None
        except ValueError as exc:
            raise UsageError(f"not a pgvector version: {exc}") from None
        if lock_timeout_ms <= 0:
            raise UsageError("--lock-timeout must be positive")
        return cls(target, start, lock_timeout_ms)

    @property
    def slug(self) -> str:
        return "pgvector_" + (f"{self.expected}_to_" if self.expected else "to_") + self.to


def _render(statement: sql.Composable) -> str:
    return statement.as_string()


def guard(spec: Spec) -> str:
    """The DO block checking the installed version and the update path."""
    expected = (
        sql.SQL(
            "  IF installed <> {expected} AND installed <> {target} THEN\n"
            "    RAISE EXCEPTION USING MESSAGE = 'vecpatch: expected pgvector ' || {expected}"
            " || ' (or already ' || {target} || '), found ' || installed;\n"
            "  END IF;\n"
        ).format(expected=sql.Literal(spec.expected), target=sql.Literal(spec.to))
        if spec.expected
        else sql.SQL("")
    )
    body = sql.SQL(
        "DO $vecpatch$\n"
        "DECLARE installed text;\n"
        "BEGIN\n"
        "  SELECT extversion INTO installed FROM pg_extension WHERE extname = 'vector';\n"
        "  IF installed IS NULL THEN\n"
        "    RAISE EXCEPTION USING MESSAGE = 'vecpatch: the vector extension is not installed';\n"
        "  END IF;\n"
        "{expected}"
        "  IF installed <> {target} AND NOT EXISTS (\n"
        "    SELECT 1 FROM pg_extension_update_paths('vector')\n"
        "    WHERE source = installed AND target = {target} AND path IS NOT NULL\n"
        "  ) THEN\n"
        "    RAISE EXCEPTION USING MESSAGE = 'vecpatch: no update path from ' || installed"
        " || ' to ' || {target} || ' (install the pgvector ' || {target}"
        " || ' package on this server first)';\n"
        "  END IF;\n"
        "END\n"
        "$vecpatch$"
    ).format(expected=expected, target=sql.Literal(spec.to))
    return _render(body)


def verify(spec: Spec) -> str:
    """The DO block that fails unless ``extversion`` is now the target."""
    return _render(
        sql.SQL(
            "DO $vecpatch$\n"
            "BEGIN\n"
            "  IF (SELECT extversion FROM pg_extension WHERE extname = 'vector')"
            " IS DISTINCT FROM {target} THEN\n"
            "    RAISE EXCEPTION USING MESSAGE = 'vecpatch: extversion is not ' || {target}"
            " || ' after the update';\n"
            "  END IF;\n"
            "END\n"
            "$vecpatch$"
        ).format(target=sql.Literal(spec.to))
    )


def upgrade_statements(spec: Spec) -> list[str]:
    """The statements, in order, for a tool that runs them inside one transaction."""
    timeout = f"{spec.lock_timeout_ms}ms"
    return [
        _render(sql.SQL("SET LOCAL lock_timeout = {}").format(sql.Literal(timeout))),
        guard(spec),
        _render(sql.SQL("ALTER EXTENSION vector UPDATE TO {}").format(sql.Literal(spec.to))),
        verify(spec),
    ]


def _script(statements: list[str]) -> str:
    return "".join(f"{s};\n\n" for s in statements)


def _header(spec: Spec, tool: Tool) -> str:
    start = spec.expected or "the installed version"
    return (
        f"-- vecpatch migration ({tool.value}): pgvector {start} -> {spec.to}\n"
        "-- Run in each database that has the extension, after the pgvector package of the\n"
        "-- target version is installed on the server. Idempotent: a no-op once applied.\n"
    )


def raw_sql(spec: Spec) -> str:
    """A psql script: its own transaction (``SET LOCAL`` needs one)."""
    return _header(spec, Tool.RAW) + "BEGIN;\n\n" + _script(upgrade_statements(spec)) + "COMMIT;\n"


def flyway_sql(spec: Spec) -> str:
    """Flyway runs each versioned migration in a transaction: no BEGIN/COMMIT here."""
    return _header(spec, Tool.FLYWAY) + _script(upgrade_statements(spec))


def sqitch_files(spec: Spec) -> dict[str, str]:
    """deploy/revert/verify scripts of one Sqitch change."""
    change = spec.slug.replace(".", "_")
    deploy = (
        f"-- Deploy {change}\n" + _header(spec, Tool.SQITCH) + "BEGIN;\n\n"
        + _script(upgrade_statements(spec)) + "COMMIT;\n"
    )  # fmt: skip
    revert = (
        f"-- Revert {change}\n"
        "DO $vecpatch$\nBEGIN\n"
        + _render(
            sql.SQL("  RAISE EXCEPTION USING MESSAGE = {};\n").format(sql.Literal(NO_DOWNGRADE))
        )
        + "END\n$vecpatch$;\n"
    )
    check = f"-- Verify {change}\n" + verify(spec) + ";\n"
    return {f"deploy/{change}.sql": deploy, f"revert/{change}.sql": revert,
            f"verify/{change}.sql": check}  # fmt: skip


def alembic_revision(spec: Spec, revision: str, down: str | None, created: datetime) -> str:
    """An Alembic revision file whose upgrade runs the guarded statements."""
    statements = "".join(f"    {s!r},\n" for s in upgrade_statements(spec))
    return (
        f'"""pgvector {spec.expected or "installed"} -> {spec.to} (generated by vecpatch)\n\n'
        f"Revision ID: {revision}\nRevises: {down or ''}\n"
        f"Create Date: {created:%Y-%m-%d %H:%M:%S}\n"
        '"""\n\n'
        "from alembic import op\n\n"
        f"revision = {revision!r}\ndown_revision = {down!r}\n"
        "branch_labels = None\ndepends_on = None\n\n"
        f"UPGRADE = [\n{statements}]\n\n\n"
        "def upgrade() -> None:\n"
        "    for statement in UPGRADE:\n"
        "        op.execute(statement)\n\n\n"
        "def downgrade() -> None:\n"
        f"    raise RuntimeError({NO_DOWNGRADE!r})\n"
    )


def files_for(
    tool: Tool, spec: Spec, *, revision: str, down: str | None, created: datetime
) -> dict[str, str]:
    """Relative path -> content, under each tool's naming convention."""
    if tool is Tool.RAW:
        return {f"{spec.slug}.sql": raw_sql(spec)}
    if tool is Tool.FLYWAY:
        version = created.strftime("%Y%m%d%H%M%S")
        return {f"V{version}__{spec.slug.replace('.', '_')}.sql": flyway_sql(spec)}
    if tool is Tool.SQITCH:
        return sqitch_files(spec)
    name = f"{revision}_{spec.slug.replace('.', '_')}.py"
    return {name: alembic_revision(spec, revision, down, created)}


def sqitch_plan_line(spec: Spec, created: datetime) -> str:
    change = spec.slug.replace(".", "_")
    return (
        f"{change} {created:%Y-%m-%dT%H:%M:%SZ} vecpatch <vecpatch@localhost> "
        f"# pgvector update to {spec.to}\n"
    )


def write(folder: Path, files: dict[str, str]) -> list[Path]:
    """Write the files (never over an existing one: a migration is history)."""
    written: list[Path] = []
    for rel, text in files.items():
        path = folder / rel
        if path.exists():
            raise UsageError(f"{path} exists; refusing to overwrite a migration")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


_REVISION = re.compile(r"^[0-9a-zA-Z_]{1,32}$")


def check_revision(value: str | None) -> str | None:
    if value is not None and not _REVISION.match(value):
        raise UsageError("an Alembic revision id is 1-32 letters, digits or '_'")
    return value
