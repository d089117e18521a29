"""`vecpatch metrics`, `report`, `serve` and `incident`: the seed's metrics, from the history.

Commands only parse, call the core (``vecpatch.metrics``, ``vecpatch.web``) and render.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from vecpatch.atomic import atomic_write
from vecpatch.cli.console import info, out
from vecpatch.cli.selection import targets_file_path
from vecpatch.errors import UsageError
from vecpatch.exitcodes import ExitCode

if TYPE_CHECKING:
    from vecpatch.history.store import HistoryStore
    from vecpatch.metrics import Objectives
    from vecpatch.web.source import HistorySource

DEFAULT_PORT = 8473


class MetricsFormat(StrEnum):
    table = "table"
    json = "json"
    markdown = "markdown"


History = Annotated[
    str | None,
    typer.Option("--history", envvar="VECPATCH_HISTORY", help="History store URL (SQLAlchemy)."),
]
Since = Annotated[
    str, typer.Option("--since", help="Period start: 30d, 12h, 2w, a date or ISO time; 'all'.")
]
Env = Annotated[str | None, typer.Option("--env", help="Only targets of this environment.")]
TargetsOpt = Annotated[
    Path | None,
    typer.Option("--targets", "-t", help="Targets file whose [settings.metrics] sets targets."),
]
Setting = Annotated[
    list[str] | None,
    typer.Option(
        "--objective",
        help="Override a metric target, e.g. security_days=3 or success_ratio=0.995 (repeatable).",
    ),
]


def objectives(targets_file: Path | None, settings: list[str] | None) -> Objectives:
    """Defaults, then the targets file's ``[settings.metrics]``, then ``--objective``."""
    from vecpatch.metrics import Objectives
    from vecpatch.targets import load_targets

    result = Objectives()
    path = targets_file_path(targets_file)
    if path is not None:
        extra = load_targets(path).settings.model_extra or {}
        table = extra.get("metrics") or {}
        if not isinstance(table, dict):
            raise UsageError(f"{path}: [settings.metrics] must be a table")
        result = result.updated(table)
    pairs: dict[str, Any] = {}
    for item in settings or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise UsageError(f"--objective {item!r}: expected NAME=VALUE")
        pairs[key.strip()] = value.strip()
    return result.updated(pairs)


def source(
    store: HistoryStore, since: str, env: str | None, objectives: Objectives
) -> HistorySource:
    from vecpatch.catalog.store import load_catalog
    from vecpatch.metrics import Scope
    from vecpatch.web.source import HistorySource

    return HistorySource(
        store,
        load_catalog(offline=True),
        None if since == "all" else since,
        Scope(env),
        objectives,
    )


def metrics(
    since: Since = "30d",
    env: Env = None,
    fmt: Annotated[MetricsFormat, typer.Option("--format", "-f")] = MetricsFormat.table,
    history: History = None,
    targets_file: TargetsOpt = None,
    objective: Setting = None,
    fail_on_missed: Annotated[
        bool, typer.Option("--fail-on-missed", help="Exit 1 when any metric misses its target.")
    ] = False,
) -> None:
    """The five metrics of the seed and current exposure, each against its target."""
    from vecpatch.history.store import HistoryStore
    from vecpatch.metrics.render import metrics_markdown, metrics_table

    with HistoryStore.open(history) as store:
        snap = source(store, since, env, objectives(targets_file, objective)).snapshot()
    if fmt is MetricsFormat.json:
        typer.echo(json.dumps(snap.metrics.to_dict(), indent=2, sort_keys=True))
    elif fmt is MetricsFormat.markdown:
        typer.echo(metrics_markdown(snap.metrics), nl=False)
    else:
        out.print(metrics_table(snap.metrics))
    if fail_on_missed and False in snap.metrics.met().values():
        raise typer.Exit(int(ExitCode.FINDINGS))


def report(
    html: Annotated[Path, typer.Option("--html", help="Write a static HTML report here.")],
    since: Since = "30d",
    env: Env = None,
    history: History = None,
    targets_file: TargetsOpt = None,
    objective: Setting = None,
) -> None:
    """A static HTML report for a period: metrics, fleet and charts, no external assets."""
    from vecpatch.history.store import HistoryStore
    from vecpatch.web.app import templates
    from vecpatch.web.views import dashboard_context

    with HistoryStore.open(history) as store:
        snap = source(store, since, env, objectives(targets_file, objective)).snapshot()
    page = templates().get_template("report.html").render(**dashboard_context(snap))
    atomic_write(html, page)
    info(f"wrote the report to {html}")


def read_token(path: Path | None, host: str) -> str | None:
    """The bearer token; binding beyond loopback without one is refused."""
    from vecpatch.web.hosts import is_loopback

    if path is None:
        if not is_loopback(host):
            raise UsageError(
                f"refusing to serve on {host} without a token",
                hint="pass --token-file FILE (every request then needs 'Authorization: Bearer')",
            )
        return None
    try:
        token = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise UsageError(f"cannot read --token-file {path}: {exc.strerror}") from None
    if len(token) < 16:
        raise UsageError(f"the token in {path} is too short (at least 16 characters)")
    return token


def serve(
    host: Annotated[str, typer.Option("--host", help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = DEFAULT_PORT,
    token_file: Annotated[
        Path | None, typer.Option("--token-file", help="Bearer token required on every request.")
    ] = None,
    allowed_host: Annotated[
        list[str] | None,
        typer.Option(
            "--allowed-host",
            envvar="VECPATCH_ALLOWED_HOSTS",
            help="Also answer requests whose Host header is this name (repeatable, or"
            " space-separated in $VECPATCH_ALLOWED_HOSTS; '*' for any,"
            " e.g. behind a proxy that checks it). Default: the --host address, plus"
            " localhost, 127.0.0.1 and ::1 when it is loopback.",
        ),
    ] = None,
    history: History = None,
    since: Since = "30d",
    env: Env = None,
    targets_file: TargetsOpt = None,
    objective: Setting = None,
) -> None:
    """Serve the dashboard, a read-only JSON API and Prometheus /metrics.

    Requests whose Host header names another server get 421 (a DNS-rebinding defence).
    """
    import uvicorn

    from vecpatch.history.store import HistoryStore
    from vecpatch.web.app import WebSettings, create_app
    from vecpatch.web.hosts import served_names

    token = read_token(token_file, host)
    allowed = served_names(host, allowed_host or ())
    with HistoryStore.open(history) as store:
        src = source(store, since, env, objectives(targets_file, objective))
        info(f"serving {store.url} on http://{host}:{port}/ (read-only)")
        web = create_app(WebSettings(src, token, allowed))
        uvicorn.run(web, host=host, port=port, log_level="warning")


incident_app = typer.Typer(help="Record production incidents (attributed to advisories or not).")


def _when(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"cannot read time {text!r}", hint="use an ISO date or time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@incident_app.command("add")
def incident_add(
    title: Annotated[str, typer.Argument(help="What happened.")],
    advisory: Annotated[str | None, typer.Option("--advisory", help="Advisory id.")] = None,
    target: Annotated[str | None, typer.Option("--target")] = None,
    database: Annotated[str | None, typer.Option("--database")] = None,
    cause: Annotated[str | None, typer.Option("--cause")] = None,
    opened_at: Annotated[str | None, typer.Option("--opened-at", help="ISO time.")] = None,
    history: History = None,
) -> None:
    """Open an incident; prints its id."""
    from vecpatch.history.store import HistoryStore

    with HistoryStore.open(history) as store:
        ident = store.add_incident(
            title, advisory_id=advisory, target=target, database=database, cause=cause,
            opened_at=_when(opened_at),
        )  # fmt: skip
    typer.echo(ident)


@incident_app.command("list")
def incident_list(
    open_only: Annotated[bool, typer.Option("--open", help="Only open incidents.")] = False,
    fmt: Annotated[MetricsFormat, typer.Option("--format", "-f")] = MetricsFormat.table,
    history: History = None,
) -> None:
    """Incidents, oldest first."""
    from rich.table import Table

    from vecpatch.history.store import HistoryStore
    from vecpatch.metrics.incidents import incident_dict

    with HistoryStore.open(history) as store:
        rows = [incident_dict(i) for i in store.list_incidents(open_only=open_only)]
    if fmt is MetricsFormat.json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table("id", "opened", "closed", "source", "advisory", "where", "title")
    for r in rows:
        where = "/".join(x for x in (r["target"], r["database"]) if x)
        table.add_row(r["id"], r["opened_at"], r["closed_at"] or "open", r["source"],
                      r["advisory_id"] or "", where, r["title"])  # fmt: skip
    out.print(table)


@incident_app.command("close")
def incident_close(
    incident_id: Annotated[str, typer.Argument(help="The id `incident add` printed.")],
    at: Annotated[str | None, typer.Option("--at", help="ISO time (default now).")] = None,
    history: History = None,
) -> None:
    """Close an open incident."""
    from vecpatch.history.store import HistoryStore

    with HistoryStore.open(history) as store:
        if not store.close_incident(incident_id, _when(at)):
            raise UsageError(f"no open incident {incident_id}")
    info(f"closed incident {incident_id}")


def print_metrics(
    history_url: str | None = None, *, since: str = "30d", port: int = DEFAULT_PORT
) -> None:
    """For the demo's end: the metrics table, and how to open the dashboard."""
    from vecpatch.history.store import HistoryStore
    from vecpatch.metrics import Objectives
    from vecpatch.metrics.render import metrics_table

    with HistoryStore.open(history_url) as store:
        snap = source(store, since, None, Objectives()).snapshot()
        shown = store.url
    out.print(metrics_table(snap.metrics))
    out.print(
        f"dashboard: vecpatch serve --history '{shown}' --port {port}  "
        f"then open http://127.0.0.1:{port}/ (Prometheus: http://127.0.0.1:{port}/metrics)"
    )


def register(app: typer.Typer) -> None:
    """Attach metrics, report, serve and the incident group to the main app."""
    app.command()(metrics)
    app.command()(report)
    app.command()(serve)
    app.add_typer(incident_app, name="incident")
