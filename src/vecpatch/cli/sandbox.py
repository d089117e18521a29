"""`vecpatch sandbox`: real local PostgreSQL + pgvector clusters for testing and demos."""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from vecpatch.cli.console import info, out
from vecpatch.errors import UsageError

if TYPE_CHECKING:
    from vecpatch.sandbox import SandboxStatus

app = typer.Typer(
    help="Real local PostgreSQL clusters at chosen PostgreSQL x pgvector pairs.",
    no_args_is_help=True,
)

Name = Annotated[str, typer.Argument(help="Sandbox name.")]


JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _render_status(rows: list[SandboxStatus], as_json: bool) -> None:
    if as_json:
        data = [{**asdict(s), "state": s.state.value} for s in rows]
        out.print_json(json.dumps(data))
    else:
        out.print(_status_table(rows))


def _status_table(rows: list[SandboxStatus]) -> Table:
    table = Table()
    for column in ("name", "state", "postgresql", "pgvector", "port", "pid", "replica of", "path"):
        table.add_column(column, overflow="fold")
    for s in rows:
        table.add_row(
            s.name,
            s.state.value,
            s.pg or "-",
            s.pgvector or "absent",
            str(s.port or "-"),
            str(s.pid or "-"),
            s.replica_of or "-",
            s.path,
        )
    return table


@app.command()
def versions() -> None:
    """List the PostgreSQL x pgvector pairs a sandbox can be created with."""
    from vecpatch.sandbox import available_pairs

    table = Table("postgresql", "pgvector", "origin")
    for b in available_pairs():
        table.add_row(b.pg, b.pgvector, b.origin)
    out.print(table)


@app.command()
def create(
    name: Name,
    pg: Annotated[str | None, typer.Option("--pg", help="PostgreSQL version, e.g. 16.4.")] = None,
    pgvector: Annotated[
        str | None, typer.Option("--pgvector", help="pgvector version (default: newest).")
    ] = None,
    sample: Annotated[bool, typer.Option("--sample", help="Load sample vector data.")] = False,
    rows: Annotated[int, typer.Option("--rows", help="Sample rows.", min=1)] = 10_000,
    port: Annotated[int | None, typer.Option("--port", help="TCP port (default: free).")] = None,
    replica_of: Annotated[
        str | None, typer.Option("--replica-of", help="Make a streaming standby of a sandbox.")
    ] = None,
    pg_bin: Annotated[
        str | None, typer.Option("--pg-bin", help="Use a local PostgreSQL bin directory.")
    ] = None,
) -> None:
    """Create and start a sandbox."""
    from vecpatch.sandbox import Sandbox

    if replica_of is not None:
        if pg or pgvector or pg_bin or sample:
            raise UsageError("--replica-of takes the primary's binaries and data: drop the rest")
        sb = Sandbox.load(replica_of).create_replica(name, port=port)
    else:
        sb = Sandbox.create(name, pg, pgvector, sample=sample, rows=rows, port=port, pg_bin=pg_bin)
    vec = sb.pgvector_version or "absent"
    info(f"created {sb.name}: PostgreSQL {sb.pg_version}, pgvector {vec}, port {sb.port}")


@app.command()
def start(name: Name) -> None:
    """Start a sandbox's server."""
    from vecpatch.sandbox import Sandbox

    Sandbox.load(name).start()


@app.command()
def stop(name: Name) -> None:
    """Stop a sandbox's server (fast shutdown)."""
    from vecpatch.sandbox import Sandbox

    Sandbox.load(name).stop()


@app.command()
def status(
    name: Annotated[str | None, typer.Argument(help="Sandbox name (default: all).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Show state, versions and port of one or all sandboxes (never the password)."""
    from vecpatch.sandbox import Sandbox, list_sandboxes

    rows = [Sandbox.load(name).status()] if name else list_sandboxes()
    _render_status(rows, as_json)


@app.command("list")
def list_(as_json: JsonFlag = False) -> None:
    """List all sandboxes, including stale and orphaned leftovers of killed runs."""
    from vecpatch.sandbox import list_sandboxes

    _render_status(list_sandboxes(), as_json)


@app.command()
def destroy(
    name: Annotated[str | None, typer.Argument(help="Sandbox name.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Destroy every sandbox.")] = False,
) -> None:
    """Stop a sandbox and delete all its files (or every sandbox with --all)."""
    from vecpatch.sandbox import Sandbox, destroy_all

    if all_ == (name is not None):
        raise UsageError("give either a sandbox NAME or --all")
    if name is not None:
        Sandbox.load(name).destroy()
        info(f"destroyed {name}")
        return
    names = destroy_all()
    info(f"destroyed {len(names)} sandbox(es)" + (f": {', '.join(names)}" if names else ""))


@app.command()
def dsn(
    name: Name,
    dbname: Annotated[str, typer.Option("--dbname", "-d", help="Database.")] = "postgres",
) -> None:
    """Print a libpq URI (TCP 127.0.0.1, with the password) for the sandbox."""
    from vecpatch.sandbox import Sandbox

    out.print(Sandbox.load(name).dsn(dbname), markup=False)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def psql(ctx: typer.Context, name: Name) -> None:
    """Run the sandbox's own psql on it (extra arguments go to psql)."""
    from vecpatch.sandbox import Sandbox

    sb = Sandbox.load(name)
    exe = str(sb.bin_dir / "psql")
    args = [exe, "-h", str(sb.socket_dir), "-p", str(sb.port), "-U", "postgres", *ctx.args]
    os.execv(exe, args)


@app.command("install-extension")
def install_extension(
    name: Name,
    version: Annotated[str, typer.Argument(help="pgvector version to install on disk.")],
    from_pg: Annotated[
        str | None,
        typer.Option("--from-pg", help="Take the build made for this PostgreSQL (e.g. 16.14)."),
    ] = None,
) -> None:
    """Replace pgvector's files like an OS package upgrade (no restart, no ALTER EXTENSION).

    Builds for another PostgreSQL major are refused."""
    from vecpatch.sandbox import Sandbox

    build = Sandbox.load(name).install_extension(version, from_pg=from_pg)
    info(f"installed pgvector {version} files from {build.key} into {name}; server not restarted")


@app.command("pg-minor")
def pg_minor(
    name: Name,
    version: Annotated[str, typer.Argument(help="Newer minor of the same major, e.g. 16.14.")],
) -> None:
    """Stop, switch to another PostgreSQL minor's binaries, start; data kept."""
    from vecpatch.sandbox import Sandbox

    Sandbox.load(name).pg_minor(version)
    info(f"{name} now runs PostgreSQL {version}")
