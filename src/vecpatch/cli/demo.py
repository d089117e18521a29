"""`vecpatch demo`: the whole product on an embedded sandbox.

It creates a real local PostgreSQL + pgvector cluster with sample data (an old
pgvector on an old minor, as found in the wild) and walks it through what
vecpatch does: the catalog's view of those versions, then a scan. Each later
capability adds its step here, so the demo always shows the whole product.
"""

from __future__ import annotations

import shlex
import shutil
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.rule import Rule

from vecpatch.cli.console import out

if TYPE_CHECKING:
    from vecpatch.catalog.model import Catalog
    from vecpatch.sandbox import Sandbox
    from vecpatch.stage.model import StageReport
    from vecpatch.targets import Target

DEMO_NAME = "vecpatch-demo"
DEMO_QUERIES = """\
-- name: items-per-bucket
SELECT id % 10 AS bucket, count(*) FROM items GROUP BY 1 ORDER BY 1;
-- name: nearest-to-item-1
SELECT id FROM items ORDER BY embedding <-> (SELECT embedding FROM items WHERE id = 1) LIMIT 10;
"""


def demo(
    pg: Annotated[str, typer.Option("--pg", help="PostgreSQL version of the sandbox.")] = "16.4",
    pgvector: Annotated[str, typer.Option("--pgvector", help="pgvector version.")] = "0.7.4",
    rows: Annotated[int, typer.Option("--rows", min=100, help="Sample rows.")] = 10_000,
    keep: Annotated[
        bool, typer.Option("--keep", help="Leave the sandbox running afterwards.")
    ] = False,
) -> None:
    """Create a sandbox (PostgreSQL 16.4 + pgvector 0.7.4, sample data) and run vecpatch on it."""
    from vecpatch.catalog.store import load_catalog
    from vecpatch.cli.metrics import print_metrics

    sandbox = _fresh_sandbox(pg, pgvector, rows)
    shutil.rmtree(_demo_dir(), ignore_errors=True)  # each demo starts a fresh history
    try:
        catalog = load_catalog(offline=True)
        now = datetime.now(UTC)
        _step("1. What the catalog says about these versions")
        _catalog_view(catalog, now, sandbox)
        _step("2. Scan: inventory and assessment of every database")
        target = _scan(sandbox, catalog, now)
        _step("3. Plan: the checked update path")
        version = _plan(sandbox, target, catalog, now)
        _step("4. Stage: the test plan on a clone of this database, before vs after")
        report = _stage(target, catalog, version, rows)
        if report.exit_code != 0:
            _stopped(report)
            raise typer.Exit(int(report.exit_code))
        _step("5. Apply: package step, backup, checked update in a fresh session, evidence")
        _package_step(sandbox, target, catalog, version)
        _apply(sandbox, target, catalog, version)
        _step("6. Scan again")
        _scan(sandbox, catalog, datetime.now(UTC))
        _step("7. Measure: the strategy's metrics from the history store")
        print_metrics(_demo_history())
    finally:
        if keep:
            out.print(f"\nsandbox kept: `vecpatch sandbox dsn {DEMO_NAME}` gives its DSN")
        else:
            sandbox.destroy()
            out.print(f"\nsandbox {DEMO_NAME} removed (use --keep to leave it running)")


def _step(title: str) -> None:
    out.print()
    out.print(Rule(f"[bold]{title}", align="left"))


def _fresh_sandbox(pg: str, pgvector: str, rows: int) -> Sandbox:
    from vecpatch.sandbox import Sandbox

    for existing in Sandbox.all():
        if existing.name == DEMO_NAME:
            existing.destroy()
    out.print(
        f"Creating sandbox [bold]{DEMO_NAME}[/]: PostgreSQL {pg} + pgvector {pgvector}, "
        f"{rows:,} sample rows (first run downloads the build, a few MB)…"
    )
    sandbox = Sandbox.create(DEMO_NAME, pg, pgvector, sample=True, rows=rows)
    out.print(f"[green]ready[/] on 127.0.0.1:{sandbox.port}")
    return sandbox


def _catalog_view(catalog: Catalog, now: datetime, sandbox: Sandbox) -> None:
    from vecpatch.catalog import queries as cq
    from vecpatch.catalog.facts import ServerFacts
    from vecpatch.catalog.match import match
    from vecpatch.catalog.model import Product
    from vecpatch.catalog.staleness import age_line
    from vecpatch.catalog.versions import PgvectorVersion, PgVersion
    from vecpatch.findings import count_by_severity

    out.print(age_line(catalog, now))
    pg = PgVersion.parse(sandbox.pg_version)
    vec = PgvectorVersion.parse(sandbox.pgvector_version or "0")
    facts = ServerFacts(pg_version=pg, pgvector_version=vec, pointer_bits=64)
    found = match(catalog, facts, now=now)
    for m in (m for m in found if m.product is Product.PGVECTOR):
        state = "exposed" if m.exposed else "affected, not exposed"
        out.print(
            f"  pgvector {vec}: [bold]{m.id}[/] ({m.advisory.severity.value}, {state}) "
            f"fixed in {m.fixed_version}: {m.advisory.summary}"
        )
    pg_found = [m for m in found if m.product is Product.POSTGRESQL and m.exposed]
    detail = count_by_severity(m.advisory.severity.value for m in pg_found)
    latest_pg = cq.latest_minor(catalog, pg.major)
    latest_vec = cq.latest_pgvector(catalog)
    out.print(f"  PostgreSQL {pg}: {len(pg_found)} advisories apply ({detail})")
    if latest_pg and latest_vec:
        out.print(
            f"  latest: PostgreSQL {latest_pg.version} ({latest_pg.date}), "
            f"pgvector {latest_vec.version} ({latest_vec.date})"
        )
    out.print(f"  {cq.eol_status(catalog, pg.major, now.date()).describe()}")


def _scan(sandbox: Sandbox, catalog: Catalog, now: datetime) -> Target:
    from vecpatch.cli.scan_table import render_table
    from vecpatch.history.store import HistoryStore
    from vecpatch.scan import ScanOptions, assess, probe
    from vecpatch.scan_record import record_scan
    from vecpatch.targets import Target

    target = Target(name=DEMO_NAME, environment="demo", dsn=sandbox.dsn(), databases="all")
    facts = probe([target], ScanOptions())
    report = assess(facts, catalog, now, ScanOptions())
    with HistoryStore.open(_demo_history()) as store:
        report = record_scan(store, report, facts, catalog)
    render_table(out, report)
    out.print("\nOn your own servers:")
    out.print("  vecpatch scan postgresql://user@host/db")
    out.print("  vecpatch targets sample > targets.toml   # a fleet, by environment and wave")
    out.print("  vecpatch scan --targets targets.toml --format sarif --output vecpatch.sarif")
    return target


def _plan(sandbox: Sandbox, target: Target, catalog: Catalog, now: datetime) -> str:
    from vecpatch.catalog.versions import PgvectorVersion
    from vecpatch.cli.plan import plan_sql, render_plan
    from vecpatch.plan import PlanPolicy, Policy, build_plan
    from vecpatch.sandbox import available_pairs
    from vecpatch.scan import ScanOptions, probe

    facts = probe([target], ScanOptions())
    render_plan(out, build_plan(facts, catalog, PlanPolicy(), now))
    newest = max(
        (b.pgvector for b in available_pairs() if b.pg_major == sandbox.pg_major and b.pgvector),
        key=PgvectorVersion.parse,
    )
    out.print(
        f"The sandbox can install pgvector {newest} at most for PostgreSQL {sandbox.pg_major}; "
        f"the demo pins the update to it (vecpatch plan --to {newest} --sql):"
    )
    pinned = build_plan(facts, catalog, PlanPolicy(Policy.PINNED, newest), now)
    out.print(plan_sql(pinned), markup=False, highlight=False)
    return newest


def _stopped(report: StageReport) -> None:
    """Why the demo does not go on to production: a stage that did not pass gates the apply."""
    failed = report.critical_failures or [
        c for c in report.cases if c.critical and c.verdict.value == "skip"
    ]
    out.print(
        f"[bold red]Stopped before the apply[/]: the stage is {report.verdict.value}, and "
        "vecpatch does not update production on an unproven stage."
    )
    for case in failed:
        out.print(f"  {case.id}: {case.why}", markup=False, highlight=False)


def _stage(target: Target, catalog: Catalog, version: str, rows: int) -> StageReport:
    from vecpatch.cli.stage import render_table as render_stage
    from vecpatch.plan import PlanPolicy, Policy
    from vecpatch.stage.clone import clone_from
    from vecpatch.stage.runner import StageOptions
    from vecpatch.usecases.stage import run_stage

    out.print(
        "A clone sandbox gets production's schema (pg_dump --schema-only) and a sample of "
        "every vector table (read-only queries); the plan runs there before and after the update."
    )
    queries = _demo_dir() / "queries.sql"
    queries.write_text(DEMO_QUERIES, encoding="utf-8")
    out.print(f"Your own queries are regression cases too (here {queries}).")
    run_id = str(uuid.uuid4())
    staging = clone_from(target, run_id, f"{DEMO_NAME}-stage", rows)
    report = run_stage(
        staging,
        StageOptions(policy=PlanPolicy(Policy.PINNED, version), queries_file=queries),
        _demo_history(),
        lambda message: out.print(f"  [dim]{message}[/]"),
        catalog=catalog,
    )
    render_stage(report)
    return report


def _package_step(sandbox: Sandbox, target: Target, catalog: Catalog, version: str) -> None:
    out.print(
        f"The package step, as apt or dnf would do it: the sandbox installs pgvector {version} "
        "on disk while the server keeps running."
    )
    sandbox.install_extension(version)


def _apply(sandbox: Sandbox, target: Target, catalog: Catalog, version: str) -> None:
    from vecpatch.apply.model import ApplyOptions, BackupKind
    from vecpatch.cli.apply import CliUi, render_apply
    from vecpatch.history.store import HistoryStore
    from vecpatch.sandbox import available_pairs
    from vecpatch.usecases.apply import run_apply

    minor = max(
        (b.pg for b in available_pairs() if b.pg_major == sandbox.pg_major),
        key=lambda v: tuple(int(p) for p in v.split(".")),
    )
    hook = f"{shlex.quote(sys.executable)} -m vecpatch -q sandbox pg-minor {DEMO_NAME} {minor}"
    out.print(
        f"The PostgreSQL minor step runs first, through a hook (here: the sandbox switches to "
        f"PostgreSQL {minor}, the newest build it has); then the extension step."
    )
    opts = ApplyOptions(
        pg_minor_hook=hook,
        to=version,
        backup=BackupKind.PG_DUMP,
        backup_dir=_demo_dir() / "backups",
        evidence_dir=_demo_dir() / "evidence",
        pg_bin=sandbox.bin_dir,
        yes=True,
        now=True,
        soak=3.0,
        reconnect_stale=True,
    )
    with HistoryStore.open(_demo_history()) as store:
        result = run_apply([target], opts, catalog, store, CliUi())
    render_apply(result, "table", ())
    for db in result.databases:
        passed = sum(c.ok for c in db.checks)
        out.print(
            f"  {db.database}: {db.outcome.value}; {passed}/{len(db.checks)} checks passed; "
            f"steps: {', '.join(s.name for s in db.steps)}"
        )
    if result.evidence_dir is not None:
        out.print(f"Evidence bundle: {result.evidence_dir}/evidence.md (and evidence.json)")
    out.print(
        f"Rollback restores that verified pg_dump: vecpatch rollback {result.run_id} "
        f"--history {_demo_history()} (see docs/apply.md; needs --keep to try it here)"
    )


def _demo_dir() -> Path:
    from vecpatch.paths import state_dir

    folder = state_dir() / "demo"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _demo_history() -> str:
    return f"sqlite:///{_demo_dir() / 'history.db'}"


def register(app: typer.Typer) -> None:
    """Attach the demo command to the main app."""
    app.command()(demo)
