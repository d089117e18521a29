"""`vecpatch catalog`: show, verify, check, update and diff the release/advisory catalog.

Each command parses, calls the catalog core and renders; data goes to stdout and the
catalog age line (plus any staleness warning) to stderr.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from vecpatch.catalog import report
from vecpatch.catalog.aptsources import Archive
from vecpatch.catalog.cvss import Severity
from vecpatch.catalog.facts import ServerFacts
from vecpatch.catalog.match import match
from vecpatch.catalog.model import Catalog, Product
from vecpatch.catalog.queries import eol_status, latest_minor, latest_pgvector, newer_than_catalog
from vecpatch.catalog.snapshot import verify_snapshot
from vecpatch.catalog.staleness import age_line, staleness_warning
from vecpatch.catalog.store import load_catalog, verify_cache
from vecpatch.catalog.versions import PgvectorVersion, PgVersion
from vecpatch.cli.console import err, fail, info, out
from vecpatch.cli.options import duration
from vecpatch.errors import VecpatchError
from vecpatch.exitcodes import ExitCode
from vecpatch.stale_catalog import REFRESH

app = typer.Typer(
    help="The pgvector/PostgreSQL release and advisory catalog.", no_args_is_help=True
)


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"


class FailOn(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


OfflineOpt = Annotated[bool, typer.Option("--offline", help="Use the snapshot and cache only.")]
NowOpt = Annotated[
    str | None, typer.Option("--now", hidden=True, help="Pretend the time is this ISO datetime.")
]


def _now(value: str | None) -> datetime:
    if value:
        parsed = datetime.fromisoformat(value)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return datetime.now(UTC)


@contextmanager
def _errors() -> Iterator[None]:
    """Turn core errors into one message and their documented exit code."""
    try:
        yield
    except VecpatchError as exc:
        fail(exc.message, exc.hint)
        raise typer.Exit(int(exc.exit_code)) from None


def _load(now: datetime) -> Catalog:
    catalog = load_catalog(offline=True)
    info(age_line(catalog, now))
    warning = staleness_warning(catalog, now)
    if warning:
        err.print(f"[yellow]warning:[/] {warning}")
    return catalog


@app.command()
def show(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    now: NowOpt = None,
) -> None:
    """Summarise what the catalog knows: latest releases, majors, advisories."""
    moment = _now(now)
    with _errors():
        data = report.show_dict(_load(moment), moment)
    if as_json:
        out.print_json(json.dumps(data))
        return
    latest = data["pgvector"]["latest"]
    out.print(f"pgvector latest: {latest['version']} ({latest['date']})" if latest else "-")
    majors = Table("major", "latest minor", "date", "EOL", "status", title="PostgreSQL")
    for m in data["postgresql"]["majors"]:
        majors.add_row(
            m["major"],
            m["latest_minor"] or "-",
            m["latest_minor_date"] or "-",
            m["eol"] or "-",
            m["status"],
        )
    out.print(majors)
    if data["distro_packages"]:
        ships = Table("distro", "suite", "package", "version", "uploaded", "CVEs", title="Distros")
        for p in data["distro_packages"]:
            ships.add_row(
                p["distro"],
                p["suite"],
                p["package"],
                p["version"],
                p["date"] or "-",
                str(p["cves"]),
            )
        out.print(ships)
    out.print(
        f"{len(data['advisories'])} advisories, {len(data['pgvector']['releases'])} "
        "pgvector releases"
    )


@app.command()
def verify(now: NowOpt = None) -> None:
    """Check the bundled snapshot and the local cache against their sha256 manifests."""
    with _errors():
        sums = verify_snapshot()
        cached = verify_cache()
        _load(_now(now))
    for name, digest in sums.items():
        out.print(f"ok  snapshot {name}  sha256:{digest}")
    for name, digest in (cached or {}).items():
        out.print(f"ok  cache {name}  sha256:{digest}")
    if cached is None:
        out.print("-   no local cache (no `catalog update` yet)")


def _facts(
    pg: str | None,
    pgvector: str | None,
    bits: int | None,
    extensions: list[str],
    languages: list[str],
    settings: list[str],
) -> ServerFacts:
    pairs = [s.split("=", 1) for s in settings]
    if any(len(p) != 2 for p in pairs):
        raise typer.BadParameter("use NAME=VALUE", param_hint="--setting")
    return ServerFacts(
        pg_version=PgVersion.parse(pg) if pg else None,
        pgvector_version=PgvectorVersion.parse(pgvector) if pgvector else None,
        pointer_bits=bits,
        extensions=frozenset(e.lower() for e in extensions),
        languages=frozenset(lang.lower() for lang in languages),
        settings=MappingProxyType({k.strip(): v.strip() for k, v in pairs}),
    )


def _check_data(
    catalog: Catalog,
    facts: ServerFacts,
    moment: datetime,
    ignore_file: Path | None,
    target: str,
    fail_on: FailOn,
) -> dict[str, Any]:
    from vecpatch.catalog.ignores import apply_ignores, load_ignores

    matches = match(catalog, facts, now=moment)
    ignores = load_ignores(ignore_file) if ignore_file else []
    outcome = apply_ignores(matches, ignores, target, moment)
    muted = {m.id: (e.reason, e.expires.isoformat()) for m, e in outcome.muted}
    threshold = Severity(fail_on.value).rank
    failed = any(m.exposed and m.advisory.severity.rank >= threshold for m in outcome.active)
    pg = facts.pg_version
    beyond = [
        b
        for product, version in (
            (Product.POSTGRESQL, pg),
            (Product.PGVECTOR, facts.pgvector_version),
        )
        if version is not None and (b := newer_than_catalog(catalog, product, str(version)))
    ]
    return {
        "schema": "vecpatch.catalog.check/1",
        "input": {
            "pg": str(pg) if pg else None,
            "pgvector": str(facts.pgvector_version) if facts.pgvector_version else None,
            "bits": facts.pointer_bits,
            "extensions": sorted(facts.extensions),
            "languages": sorted(facts.languages),
        },
        "findings": [report.finding_dict(m, muted.get(m.id)) for m in matches],
        "reopened": [m.id for m, _ in outcome.reopened],
        "latest": {
            "postgresql": report.release_brief(latest_minor(catalog, pg.major) if pg else None),
            "pgvector": report.release_brief(latest_pgvector(catalog)),
        },
        "eol": report.eol_dict(eol_status(catalog, pg.major, moment.date()) if pg else None),
        "newer_than_catalog": [
            {
                "kind": "NEWER_THAN_CATALOG",
                "product": b.product.value,
                "version": b.version,
                "newest_known": b.newest_known,
                "next_action": REFRESH,
            }
            for b in beyond
        ],
        "fail_on": fail_on.value,
        "failed": failed,
    }


def _render_check(data: dict[str, Any]) -> None:
    table = Table(title="Advisories")
    for name in ("id", "aliases", "severity", "affected", "exposed", "fixed in"):
        table.add_column(name, no_wrap=True)
    table.add_column("why", min_width=30)
    for f in data["findings"]:
        exposed = "yes" if f["exposed"] else "no"
        if f["ignored"]:
            exposed += f" (accepted until {f['ignored']['expires']})"
        elif f["mitigated"]:
            exposed += " (mitigated)"
        why = "; ".join(f["reasons"] + [f"mitigation: {m}" for m in f["mitigations"]])
        table.add_row(
            f["id"],
            ", ".join(f["aliases"]) or "-",
            f"{f['severity']} {f['score'] or ''}".strip(),
            "yes" if f["affected"] else "no",
            exposed,
            f["fixed_version"] or "no fix on branch",
            why,
        )
    out.print(table)
    for product, rel in data["latest"].items():
        if rel:
            out.print(f"latest {product}: {rel['version']} ({rel['date']})")
    if data["eol"]:
        out.print(
            f"PostgreSQL {data['eol']['major']}: {data['eol']['status']}, "
            f"end-of-life {data['eol']['eol']}"
        )
    for b in data["newer_than_catalog"]:
        known = b["newest_known"] or "no release of that branch"
        text = (
            f"NEWER_THAN_CATALOG: {b['product']} {b['version']} is newer than the catalog "
            f"knows ({known}); it is stale: {b['next_action']}"
        )
        err.print(f"[yellow]warning:[/] {escape(text)}")
    for ident in data["reopened"]:
        err.print(f"[yellow]warning:[/] risk acceptance for {ident} has expired; reopened")


@app.command()
def check(
    pg: Annotated[str | None, typer.Option("--pg", help="PostgreSQL version, e.g. 16.4")] = None,
    pgvector: Annotated[str | None, typer.Option("--pgvector", help="e.g. 0.7.4")] = None,
    bits: Annotated[int | None, typer.Option("--bits", help="32 or 64; unknown if omitted")] = None,
    extension: Annotated[list[str], typer.Option("--extension", help="Installed extension")] = [],  # noqa: B006
    language: Annotated[list[str], typer.Option("--language", help="Installed language")] = [],  # noqa: B006
    setting: Annotated[list[str], typer.Option("--setting", help="NAME=VALUE")] = [],  # noqa: B006
    output: Annotated[
        OutputFormat, typer.Option("--format", help="Output format.")
    ] = OutputFormat.TABLE,
    fail_on: Annotated[
        FailOn, typer.Option("--fail-on", help="Exit 1 at or above this severity.")
    ] = FailOn.HIGH,
    ignore_file: Annotated[
        Path | None, typer.Option("--ignore-file", help="Accepted risks (TOML).")
    ] = None,
    target: Annotated[str, typer.Option("--target", help="Name for ignore patterns")] = "what-if",
    now: NowOpt = None,
) -> None:
    """What-if without a database: which advisories apply to these versions."""
    if bits not in (None, 32, 64):
        raise typer.BadParameter("must be 32 or 64", param_hint="--bits")
    if not pg and not pgvector:
        raise typer.BadParameter("give --pg and/or --pgvector", param_hint="--pg")
    moment = _now(now)
    with _errors():
        facts = _facts(pg, pgvector, bits, extension, language, setting)
        data = _check_data(_load(moment), facts, moment, ignore_file, target, fail_on)
    if output is OutputFormat.JSON:
        out.print_json(json.dumps(data))
    else:
        _render_check(data)
    if data["failed"]:
        raise typer.Exit(int(ExitCode.FINDINGS))


def _offline_default() -> bool:
    return os.environ.get("VECPATCH_OFFLINE", "") not in ("", "0", "false", "no")


@app.command()
def update(
    offline: OfflineOpt = False,
    source: Annotated[list[str], typer.Option("--source", help="Only these feeds")] = [],  # noqa: B006
    base_url: Annotated[
        list[str], typer.Option("--base-url", help="NAME=URL mirror for a feed")
    ] = [],  # noqa: B006
    osv: Annotated[list[str], typer.Option("--osv", help="Extra OSV file or URL")] = [],  # noqa: B006
    timeout: Annotated[
        str, typer.Option("--timeout", help="Per request, whole (retries included), e.g. 10s")
    ] = "10s",
    feed_deadline: Annotated[
        str, typer.Option("--feed-deadline", help="What one feed may take in all")
    ] = "2m",
    deadline: Annotated[
        str, typer.Option("--deadline", help="What the whole update may take")
    ] = "10m",
    accept: Annotated[
        bool,
        typer.Option(
            "--accept",
            help="Merge the held changes (EOL moves, version jumps, future dates) after review",
        ),
    ] = False,
    distro_file: Annotated[
        list[str],
        typer.Option(
            "--distro-file",
            help="A downloaded .deb, changelog.Debian[.gz] or [DISTRO:]SUITE=Packages file "
            "(read even with --offline)",
        ),
    ] = [],  # noqa: B006
    distro_archive: Annotated[
        list[str],
        typer.Option(
            "--distro-archive",
            help="'deb URL SUITE [COMPONENT ...]' for the distro feed instead of the host's "
            "apt sources (e.g. an Ubuntu mirror)",
        ),
    ] = [],  # noqa: B006
    now: NowOpt = None,
) -> None:
    """Fetch the live feeds (and read local distro files) into the local cache."""
    from vecpatch.catalog.sources.debian import DistroArchives, DistroFiles
    from vecpatch.catalog.sources.http import FeedClient
    from vecpatch.catalog.sources.interface import Source
    from vecpatch.catalog.update import Limits, default_sources, run_update

    moment = _now(now)
    per_request = duration(timeout)
    limits = Limits(feed_deadline=duration(feed_deadline), update_deadline=duration(deadline))
    chosen: list[Source]
    if offline or _offline_default():
        if not distro_file:
            info("offline: using the bundled snapshot and local cache only")
            with _errors():
                _load(moment)
            return
        info("offline: reading the local distro files only")
        chosen = [DistroFiles(distro_file)]
    else:
        urls = dict(u.split("=", 1) for u in base_url if "=" in u)
        archives = _distro_archives(distro_archive)
        chosen = [
            s
            for s in default_sources(urls, osv, distro_file)
            if not source or s.name in source or isinstance(s, DistroFiles)
        ]
        if archives:
            chosen = [
                DistroArchives(archives=archives) if s.name == "distro" else s for s in chosen
            ]
    with _errors(), FeedClient(timeout=per_request) as client:
        result = run_update(
            chosen,
            client,
            now=moment,
            limits=limits,
            accept=accept,
            on_wait=lambda m: info(escape(m)),
        )
        _load(moment)
    for name in result.fetched:
        out.print(f"ok       {name}", markup=False)
    for skip in result.skipped:
        out.print(f"skipped  {skip.source}: {skip.reason}", markup=False)
    for item in result.released:
        out.print(f"merged   {item}", markup=False)
    for held in result.held:
        out.print(f"held     {held.key} from {held.source}: {held.reason}", markup=False)
    if result.held:
        info("held changes stay out until a second source confirms them or `--accept`")
    for note in result.notes:
        info(escape(note))
    out.print_json(json.dumps(result.changes.as_dict()))


def _distro_archives(lines: list[str]) -> list[Archive]:
    from vecpatch.catalog.aptsources import archives_from_lines

    try:
        return archives_from_lines(lines) if lines else []
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--distro-archive") from None


@app.command()
def diff(now: NowOpt = None) -> None:
    """What changed with the last update: new/changed releases and advisories."""
    from vecpatch.catalog.update import diff_since_update

    with _errors():
        _load(_now(now))
        changes = diff_since_update()
    if changes.empty:
        out.print("no changes since the previous update")
        return
    for label, items in changes.as_dict().items():
        for item in items:
            out.print(f"{label.replace('_', ' ')}: {item}")
