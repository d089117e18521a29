"""``--clone-from TARGET``: a sandbox shaped like production, with a sample of its data.

The sandbox runs production's PostgreSQL major and pgvector version, or the nearest
pair vecpatch can provide (the report says which). Production's schema comes from
``pg_dump --schema-only`` (the sandbox's own pg_dump, password only in ``PGPASSWORD``);
every table with a vector column gets a sample of at most ``sample_rows`` rows. What
production sees: read-only transactions with a statement timeout, ``TABLESAMPLE
SYSTEM`` rather than a sort, COPY out. Foreign keys are left out of the clone (a sample
cannot satisfy them) and the report says so.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from vecpatch.apply.session import Endpoint
from vecpatch.errors import UsageError
from vecpatch.probe.facts import DatabaseFacts
from vecpatch.sandbox import Build, Sandbox, available_pairs
from vecpatch.sandbox.builds import version_tuple
from vecpatch.scan import ScanOptions, probe
from vecpatch.stage.db import scalar, set_local
from vecpatch.stage.staging import Staging, endpoint_for, from_sandbox
from vecpatch.targets import Target

READ_TIMEOUT = "60s"


def _distance(a: str, b: str) -> tuple[int, ...]:
    return tuple(abs(x - y) for x, y in zip(version_tuple(a), version_tuple(b), strict=False))


def nearest_pair(pg: str, pgvector: str) -> Build:
    """Same PostgreSQL major; the closest pgvector (exact first), then the closest minor."""
    major = pg.split(".")[0]
    same = [b for b in available_pairs() if str(b.pg_major) == major]
    if not same:
        have = sorted({str(b.pg_major) for b in available_pairs()})
        raise UsageError(f"no sandbox build for PostgreSQL {major} (available majors: {have})")
    return min(same, key=lambda b: (_distance(b.pgvector, pgvector), _distance(b.pg, pg)))


def _tool(sandbox: Sandbox, name: str) -> str:
    return str(sandbox.bin_dir / name)


def _run(
    cmd: list[str], env: dict[str, str] | None, clean: Callable[[str], str]
) -> tuple[int, str]:
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    return proc.returncode, clean(" ".join(proc.stderr.strip().splitlines()[-3:]))


def copy_schema(prod: Endpoint, sandbox: Sandbox, dbname: str, folder: Path) -> list[str]:
    """pg_dump --schema-only from production; pre-data, then (after the data) post-data."""
    dump = folder / "schema.dump"
    conninfo, env = prod.child_env()
    code, err = _run([_tool(sandbox, "pg_dump"), "-Fc", "--schema-only", "-f", str(dump),
                      "-d", conninfo], env, prod.clean)  # fmt: skip
    if code != 0:
        raise UsageError(f"pg_dump --schema-only of production failed: {err}")
    code, err = _run([_tool(sandbox, "pg_restore"), "--no-owner", "--no-privileges",
                      "--section=pre-data", "-d", sandbox.socket_dsn(dbname), str(dump)],
                     None, prod.clean)  # fmt: skip
    return [f"schema restore reported errors (continued): {err}"] if code != 0 else []


def post_data(prod: Endpoint, sandbox: Sandbox, dbname: str, folder: Path) -> list[str]:
    dump = folder / "schema.dump"
    listing = subprocess.run([_tool(sandbox, "pg_restore"), "-l", str(dump)],
                             capture_output=True, text=True, check=False).stdout  # fmt: skip
    kept = [ln for ln in listing.splitlines() if " FK CONSTRAINT " not in ln]
    dropped = len(listing.splitlines()) - len(kept)
    (folder / "list.txt").write_text("\n".join(kept) + "\n")
    code, err = _run([_tool(sandbox, "pg_restore"), "--no-owner", "--no-privileges",
                      "--section=post-data", "-L", str(folder / "list.txt"),
                      "-d", sandbox.socket_dsn(dbname), str(dump)], None, prod.clean)  # fmt: skip
    notes = [f"{dropped} foreign key(s) left out of the clone (a sample cannot satisfy them)"]
    if code != 0:
        notes.append(f"index/constraint restore reported errors (continued): {err}")
    return notes if dropped else notes[1:]


def _columns(conn: psycopg.Connection[Any], schema: str, table: str) -> list[str]:
    rows = conn.execute(
        sql.SQL(
            "SELECT attname FROM pg_attribute WHERE attrelid = {}::regclass AND attnum > 0 "
            "AND NOT attisdropped AND attgenerated = '' ORDER BY attnum"
        ).format(sql.Literal(sql.Identifier(schema, table).as_string(conn)))
    ).fetchall()
    return [str(r[0]) for r in rows]


def copy_sample(
    prod: Endpoint, sandbox: Sandbox, dbname: str, db: DatabaseFacts, rows: int
) -> list[str]:
    """At most ``rows`` rows of every table with a vector column, production read-only."""
    notes = []
    with prod.connect(autocommit=False) as src, sandbox.connect(dbname) as dst:
        src.execute(sql.SQL("SET TRANSACTION READ ONLY"))
        set_local(src, "statement_timeout", READ_TIMEOUT)
        for schema, table in sorted({(c.schema, c.table) for c in db.columns}):
            name = sql.Identifier(schema, table)
            cols = sql.SQL(", ").join(sql.Identifier(c) for c in _columns(src, schema, table))
            total = scalar(src, sql.SQL("SELECT greatest(reltuples, 0)::bigint FROM pg_class "
                                        "WHERE oid = {}::regclass").format(
                sql.Literal(name.as_string(src))))  # fmt: skip
            pct = 100.0 if not total or total <= rows else min(100.0, 150.0 * rows / float(total))
            sample = (
                sql.SQL(" TABLESAMPLE SYSTEM ({})").format(sql.Literal(pct))
                if pct < 100
                else sql.SQL("")
            )
            out = sql.SQL("COPY (SELECT {c} FROM {t}{s} LIMIT {n}) TO STDOUT").format(
                c=cols, t=name, s=sample, n=sql.Literal(rows)
            )
            into = sql.SQL("COPY {t} ({c}) FROM STDIN").format(t=name, c=cols)
            with src.cursor().copy(out) as reader, dst.cursor().copy(into) as writer:
                for block in reader:
                    writer.write(block)
            copied = scalar(dst, sql.SQL("SELECT count(*) FROM {}").format(name))
            notes.append(f"{schema}.{table}: {copied} of ~{total} rows sampled")
        src.rollback()
    return notes


def clone_from(target: Target, run_id: str, name: str, sample_rows: int) -> Staging:
    """Create the clone sandbox; on any failure it is destroyed again."""
    facts = probe([target], ScanOptions(concurrency=1))[0]
    prod = endpoint_for(target, run_id)
    if facts.failure is not None or facts.server is None:
        reason = facts.failure.reason if facts.failure else "no facts"
        raise UsageError(f"cannot read production {target.name}: {prod.clean(reason)}")
    db = next((d for d in facts.databases if d.name == prod.database), None)
    if db is None or db.pgvector.installed_version is None:
        raise UsageError(f"pgvector is not installed in {target.name}/{prod.database}")
    pair = nearest_pair(facts.server.version, db.pgvector.installed_version)
    sandbox = Sandbox.create(name, pair.pg, pair.pgvector)
    try:
        if prod.database != "postgres":
            sandbox.run_sql(
                sql.SQL("CREATE DATABASE {}").format(sql.Identifier(prod.database)).as_string()
            )
        with tempfile.TemporaryDirectory(prefix="vecpatch-clone-") as tmp:
            notes = copy_schema(prod, sandbox, prod.database, Path(tmp))
            notes += copy_sample(prod, sandbox, prod.database, db, sample_rows)
            notes += post_data(prod, sandbox, prod.database, Path(tmp))
        sandbox.run_sql("ANALYZE", dbname=prod.database)
    except BaseException:
        sandbox.destroy()
        raise
    staging = from_sandbox(sandbox, run_id, prod.database, kind="clone")
    staging.notes = [
        f"production: PostgreSQL {facts.server.version} / "
        f"pgvector {db.pgvector.installed_version}; clone sandbox {name}: "
        f"nearest available pair {pair.pg} / {pair.pgvector}",
        *notes,
    ]
    return staging
