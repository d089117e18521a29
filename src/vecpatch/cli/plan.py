"""`vecpatch plan`: the exact, checked update path per database (changes nothing)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from vecpatch.atomic import atomic_write
from vecpatch.cli.console import out
from vecpatch.cli.scan import TargetsArg, TargetsOpt
from vecpatch.cli.selection import EnvOpt, TagOpt, WaveOpt, gather
from vecpatch.errors import UsageError
from vecpatch.exitcodes import ExitCode
from vecpatch.plan import Plan, PlanPolicy, Policy, Status, TargetPlan, build_plan


class PolicyChoice(StrEnum):
    """Policies selectable with ``--policy`` (``--to`` pins a version)."""

    latest = "latest"
    latest_patch = "latest-patch"
    minimum_safe = "minimum-safe"


class PlanFormat(StrEnum):
    table = "table"
    json = "json"


ToOpt = Annotated[
    str | None, typer.Option("--to", help="Pin the target pgvector version (e.g. 0.8.5).")
]
PolicyOpt = Annotated[
    PolicyChoice, typer.Option("--policy", help="How the target version is chosen.")
]
CooldownOpt = Annotated[
    int,
    typer.Option(
        "--cooldown-days", min=0, help="Skip releases younger than this (security fixes bypass)."
    ),
]


def plan_policy(
    to: str | None, policy: PolicyChoice, cooldown_days: int = 0, lock_timeout_ms: int = 2000
) -> PlanPolicy:
    """The planning policy from the shared ``--to/--policy/--cooldown-days`` options."""
    if to is not None and policy is not PolicyChoice.latest:
        raise UsageError("give either --to VERSION or --policy, not both")
    if to is not None:
        return PlanPolicy(Policy.PINNED, to, cooldown_days, lock_timeout_ms=lock_timeout_ms)
    return PlanPolicy(Policy(policy.value), None, cooldown_days, lock_timeout_ms=lock_timeout_ms)


def plan(
    targets: TargetsArg = None,
    targets_file: TargetsOpt = None,
    env: EnvOpt = None,
    tag: TagOpt = None,
    wave: WaveOpt = None,
    to: ToOpt = None,
    policy: PolicyOpt = PolicyChoice.latest,
    cooldown_days: CooldownOpt = 0,
    fmt: Annotated[PlanFormat, typer.Option("--format", "-f", help="Output format.")] = (
        PlanFormat.table
    ),
    show_sql: Annotated[
        bool, typer.Option("--sql", help="Print the exact statements per database.")
    ] = False,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here.")] = None,
) -> None:
    """Plan updates: target version, hops, required actions, package and minor steps.

    Exit codes: 0 planned (or nothing to do); 1 some database is blocked (the reasons
    are listed); 2 usage or configuration error.
    """
    from vecpatch.catalog.store import load_catalog
    from vecpatch.scan import ScanOptions, probe

    selection = gather(targets, targets_file, env, tag, wave)
    chosen = plan_policy(to, policy, cooldown_days)
    catalog = load_catalog(offline=True)
    facts = probe(selection.targets, ScanOptions())
    hooks = {t.name: t.package_hook for t in selection.targets if t.package_hook}
    result = build_plan(facts, catalog, chosen, datetime.now(UTC), hooks)
    text = _render_text(result, fmt, show_sql)
    if output is not None:
        atomic_write(output, text if text is not None else json.dumps(result.to_dict(), indent=2))
    elif text is not None:
        typer.echo(text, nl=False)
    else:
        render_plan(out, result)
    blocked = any(d.status is Status.BLOCKED for t in result.targets for d in t.databases)
    raise typer.Exit(int(ExitCode.FINDINGS if blocked else ExitCode.OK))


def _render_text(result: Plan, fmt: PlanFormat, show_sql: bool) -> str | None:
    if show_sql:
        return plan_sql(result)
    if fmt is PlanFormat.json:
        return json.dumps(result.to_dict(), indent=2) + "\n"
    return None


def plan_sql(result: Plan) -> str:
    """The statements per database, as a psql script an operator can read (and run)."""
    lock = f"{result.policy.lock_timeout_ms}ms"
    lines = [f"-- vecpatch plan, {result.created_at:%Y-%m-%d %H:%M} UTC"]
    for t in result.targets:
        if t.pg_minor is not None:
            lines.append(
                f"-- {t.target}: FIRST update PostgreSQL {t.pg_minor.current} -> "
                f"{t.pg_minor.target} (binaries + restart)"
            )
        if t.package is not None:
            lines.append(f"-- {t.target}: THEN install pgvector {t.package.version} on disk")
        for d in t.databases:
            if d.status is not Status.PLANNED:
                continue
            lines += [
                f"-- {t.target} / {d.database}: {d.installed} -> {d.target}",
                f"\\connect {d.database}",
                f"SET lock_timeout = '{lock}';",
                "BEGIN;",
                *[f"{stmt};" for stmt in d.sql],
                "SELECT extversion FROM pg_extension WHERE extname = 'vector';",
                f"-- expect {d.target}",
                "COMMIT;",
                *[f"{a.sql};" for a in d.actions if a.sql],
            ]
    return "\n".join(lines) + "\n"


_STATUS_STYLE = {
    Status.PLANNED: "yellow",
    Status.BLOCKED: "bold red",
    Status.UP_TO_DATE: "green",
    Status.NOT_INSTALLED: "dim",
    Status.REPLICA: "cyan",
}


def render_plan(console: Console, result: Plan) -> None:
    """The plan as Rich text: per target, its ordered steps and databases."""
    for t in result.targets:
        console.print(Text(f"{t.target}  {t.host}:{t.port}", style="bold"))
        if t.skipped:
            console.print(Text(f"  skipped: {t.skipped}", style="red"))
            continue
        for step in _steps(t):
            console.print(f"  {step}")
        table = Table(box=None, pad_edge=False, header_style="bold")
        for col in ("database", "status", "from", "to", "path", "notes"):
            table.add_column(col, overflow="fold")
        for d in t.databases:
            notes = [*d.blockers, *(a.description for a in d.actions)]
            table.add_row(
                d.database,
                Text(d.status.value, style=_STATUS_STYLE[d.status]),
                d.installed or "-",
                d.target or "-",
                " -> ".join(d.path),
                "\n".join(notes),
            )
        console.print(table)
        console.print()


def _steps(t: TargetPlan) -> list[str]:
    steps: list[str] = []
    if t.on_replica:
        steps.append("standby: install the package here first; ALTER EXTENSION runs on the primary")
    if t.pg_minor is not None:
        steps.append(
            f"1. PostgreSQL {t.pg_minor.current} -> {t.pg_minor.target} (restart; fixes "
            f"{len(t.pg_minor.cves_fixed)} CVEs) — before the extension step"
        )
    if t.package is not None:
        how = t.package.hook_command or "; ".join(
            f"{k}: {v}" for k, v in t.package.instructions[:2]
        )
        steps.append(
            f"2. install pgvector {t.package.version} for PostgreSQL {t.package.pg_major}: {how}"
        )
    planned = sum(d.status is Status.PLANNED for d in t.databases)
    if planned:
        steps.append(f"3. ALTER EXTENSION vector UPDATE in {planned} database(s), fresh sessions")
    return steps or ["nothing to do"]


def register(app: typer.Typer) -> None:
    """Attach the plan command to the main app."""
    app.command()(plan)
