"""Compatibility checks: can the update happen here, and is what it produced sound?

The failures these catch were all seen on real builds: no update path (a vendor build,
or a target older than the installed version: pgvector has no downgrade scripts); a
library built for another PostgreSQL major (``incompatible library``); an old
``vector.so`` left under a newer catalog (``could not find function``); and catalog
drift, where ``ALTER EXTENSION ... UPDATE`` leaves different member objects than a
fresh ``CREATE EXTENSION`` of the same version would.
"""

from __future__ import annotations

import secrets
from typing import Any

import psycopg
from psycopg import sql

from vecpatch.apply.session import Endpoint
from vecpatch.apply.smoke import type_checks
from vecpatch.catalog import queries as cq
from vecpatch.catalog.model import Catalog
from vecpatch.catalog.versions import PgvectorVersion
from vecpatch.errors import VecpatchError
from vecpatch.pgerrors import first_line
from vecpatch.probe.facts import DatabaseFacts
from vecpatch.stage.db import LOCK_TIMEOUT, extversion, scalar
from vecpatch.stage.model import Check

MEMBERS = sql.SQL(
    "SELECT pg_describe_object(d.classid, d.objid, d.objsubid) FROM pg_depend d "
    "JOIN pg_extension e ON d.refclassid = 'pg_extension'::regclass AND d.refobjid = e.oid "
    "WHERE e.extname = 'vector' AND d.deptype = 'e'"
)


def update_path(conn: psycopg.Connection[Any], installed: str, target: str) -> Check:
    """``pg_extension_update_paths`` has a path from ``installed`` to ``target`` on disk."""
    name = f"update path {installed} -> {target}"
    if PgvectorVersion.parse(target) < PgvectorVersion.parse(installed):
        why = "the target is older than the installed version: pgvector ships no downgrade scripts"
        return Check(name, False, why + " (going back means restoring a backup)")
    path = scalar(
        conn,
        sql.SQL(
            "SELECT path FROM pg_extension_update_paths('vector') WHERE source = {} AND target = {}"
        ).format(sql.Literal(installed), sql.Literal(target)),
    )
    if path is None:
        return Check(
            name, False, f"no update path from {installed} to {target} in the scripts on disk"
        )
    return Check(name, True, str(path))


C_FUNCTIONS = sql.SQL(
    "SELECT p.oid, p.oid::regprocedure::text FROM pg_proc p "
    "JOIN pg_language l ON l.oid = p.prolang AND l.lanname = 'c' "
    "JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e' "
    "JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'vector' ORDER BY 2"
)
SHOWN_MISSING = 5


def library_loads(endpoint: Endpoint, version: str, db: DatabaseFacts | None) -> list[Check]:
    """Every C function of the catalog resolves in the ``vector.so`` a new session loads.

    ``fmgr_c_validator`` is what ``CREATE FUNCTION`` runs: it loads the library and looks
    up the symbol, so an old library under a newer catalog (``could not find function``)
    or one built for another major (``incompatible library``) fails here for every
    function, not only for those a few sample calls happen to reach. It needs the right
    to use language C (superuser); without it the check falls back to sample calls and
    says so.
    """
    name = f"every C function of the pgvector {version} catalog resolves in vector.so"
    try:
        with endpoint.connect(autocommit=False) as conn:
            functions = [(int(r[0]), str(r[1])) for r in conn.execute(C_FUNCTIONS).fetchall()]
            missing, first_error = _validate(conn, functions)
            conn.rollback()
    except _NoValidator as exc:
        sampled = _sample_calls(endpoint, version, f"every function not checked: {exc}")
        return [Check(name, True, f"not checked: {exc}", skipped=True), *sampled]
    except psycopg.Error as exc:
        return [Check(name, False, endpoint.clean(first_line(exc)))]
    checks = [_resolved(name, functions, missing, first_error, endpoint)]
    if db is not None:
        try:
            with endpoint.connect() as conn, conn.transaction():
                checks += type_checks(conn, db)
        except psycopg.Error as exc:
            checks.append(Check("type round trips", False, endpoint.clean(first_line(exc))))
    return checks


class _NoValidator(VecpatchError):
    """The role may not run the C validator (language C is superuser-only)."""


def _validate(
    conn: psycopg.Connection[Any], functions: list[tuple[int, str]]
) -> tuple[list[str], str]:
    missing: list[str] = []
    first_error = ""
    for oid, signature in functions:
        try:
            with conn.transaction():
                conn.execute(sql.SQL("SELECT fmgr_c_validator({}::oid)").format(sql.Literal(oid)))
        except psycopg.errors.InsufficientPrivilege as exc:
            raise _NoValidator(first_line(exc)) from None
        except psycopg.Error as exc:
            missing.append(signature)
            first_error = first_error or first_line(exc)
    return missing, first_error


def _resolved(
    name: str, functions: list[tuple[int, str]], missing: list[str], error: str, ep: Endpoint
) -> Check:
    if not functions:
        return Check(name, False, "the extension has no C functions: catalog unreadable?")
    if not missing:
        return Check(name, True, f"all {len(functions)} C functions resolve")
    shown = ", ".join(missing[:SHOWN_MISSING])
    more = f" and {len(missing) - SHOWN_MISSING} more" if len(missing) > SHOWN_MISSING else ""
    return Check(
        name,
        False,
        f"{len(missing)} of {len(functions)} C functions do not resolve ({shown}{more}): "
        f"{ep.clean(error)}",
    )


def _sample_calls(endpoint: Endpoint, version: str, why: str) -> list[Check]:
    """A new session loads ``vector.so`` and runs each type's I/O and a distance function."""
    probes = ["'[1,2,3]'::vector::text", "l2_distance('[1,2]'::vector, '[2,3]'::vector)"]
    if PgvectorVersion.parse(version) >= PgvectorVersion.parse("0.7.0"):
        probes += ["'[1,2,3]'::halfvec::text", "'{1:1,3:2}/3'::sparsevec::text",
                   "'101'::bit(3) <~> '111'::bit(3)"]  # fmt: skip
    try:
        with endpoint.connect() as conn:
            for expr in probes:
                conn.execute(sql.SQL("SELECT " + expr))  # constant expressions above, no input
    except psycopg.Error as exc:
        return [Check("vector.so loads in a new session", False, endpoint.clean(first_line(exc)))]
    detail = f"{len(probes)} sample calls only ({why})"
    return [Check("vector.so loads in a new session", True, detail)]


def extversion_is(endpoint: Endpoint, target: str) -> Check:
    try:
        with endpoint.connect() as conn:
            found = extversion(conn)
    except psycopg.Error as exc:
        return Check("extversion", False, endpoint.clean(first_line(exc)))
    return Check("extversion", found == target, f"{found} (expected {target})")


def supports_major(catalog: Catalog, version: str, pg_major: str) -> Check:
    """What the catalog says about this pgvector release on this PostgreSQL major."""
    name = f"pgvector {version} on PostgreSQL {pg_major}"
    release = next((r for r in cq.pgvector_releases(catalog) if r.version == version), None)
    if release is None:
        return Check(name, True, "release unknown to the catalog: not judged", skipped=True)
    ok = cq.supports(release, pg_major)
    span = f"supports PostgreSQL {release.pg_min}..{release.pg_max or 'latest'}"
    return Check(name, ok, span)


def members(conn: psycopg.Connection[Any]) -> set[str]:
    return {str(r[0]) for r in conn.execute(MEMBERS).fetchall()}


def schema_parity(endpoint: Endpoint, version: str) -> Check:
    """Member objects after UPDATE == those of a fresh CREATE EXTENSION in a scratch database.

    CREATE/DROP DATABASE cannot run in a transaction: the session sets ``lock_timeout``
    instead, and the scratch database is dropped whatever happens.
    """
    name = "extension members after UPDATE == fresh CREATE EXTENSION"
    scratch_db = f"vecpatch_stage_parity_{secrets.token_hex(4)}"
    ident = sql.Identifier(scratch_db)
    try:
        with endpoint.connect() as conn:
            updated = members(conn)
        with endpoint.connect() as admin:
            admin.execute(sql.SQL("SET lock_timeout = {}").format(sql.Literal(LOCK_TIMEOUT)))
            admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(ident))
            try:
                with endpoint.connect(dbname=scratch_db, autocommit=False) as fresh:
                    fresh.execute(
                        sql.SQL("CREATE EXTENSION vector VERSION {}").format(sql.Literal(version))
                    )
                    created = members(fresh)
                    fresh.rollback()
            finally:
                admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(ident))
    except psycopg.errors.InsufficientPrivilege as exc:
        return Check(name, True, f"not judged: {first_line(exc)}", skipped=True)
    except psycopg.Error as exc:
        return Check(name, False, endpoint.clean(first_line(exc)))
    if updated == created:
        return Check(name, True, f"{len(created)} member objects identical")
    missing, extra = sorted(created - updated), sorted(updated - created)
    detail = f"missing after UPDATE: {missing[:5]}; only after UPDATE: {extra[:5]}"
    return Check(name, False, f"{len(missing)} missing, {len(extra)} extra ({detail})")
