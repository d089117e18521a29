"""The scan's Rich table: grouped by target, one summary line each.

PostgreSQL CVEs are many and all have the same fix (the latest minor), so the
table folds them into one line per server; the JSON keeps every one.
"""

from __future__ import annotations

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from vecpatch.findings import Finding, FindingKind, count_by_severity
from vecpatch.report.model import DatabaseReport, ScanReport, TargetReport

_STYLE = {
    "critical": "bold white on red",
    "high": "bold red",
    "medium": "yellow",
    "low": "cyan",
    "info": "dim",
    "unknown": "bold red",
}


def render_table(console: Console, report: ScanReport) -> None:
    """Draw the whole report."""
    for target in report.targets:
        console.print(_target(target))
        console.print()
    counts = count_by_severity(f.severity for f in report.findings())
    console.print(
        f"[bold]{len(report.targets)} targets, {report.database_count()} databases[/]: "
        + (counts or "no findings")
        + f" · catalog {report.catalog_generated_at:%Y-%m-%d} ({report.catalog_age_days} d old)"
    )


def _target(t: TargetReport) -> RenderableType:
    title = Text(t.target, style="bold")
    if t.environment:
        title.append(f" [{t.environment}]", style="dim")
    title.append(f"  {t.host}:{t.port}", style="dim")
    if t.failure is not None:
        return Group(
            title,
            Text(f"  {t.failure.kind.value}: {t.failure.reason}", style="bold red"),
        )
    lines: list[RenderableType] = [title]
    if t.server is not None:
        role = "replica" if t.server.in_recovery else "primary"
        lines.append(Text(f"  PostgreSQL {t.server.version} ({t.server.pointer_bits}-bit, {role})"))
    lines += [_server_line(f) for f in _folded(t.findings)]
    table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
    for col in ("database", "pgvector", "on disk", "findings", "next action"):
        table.add_column(col, overflow="fold")
    for db in t.databases:
        table.add_row(*_db_row(db))
    lines.append(table)
    lines.append(Text(f"  {_summary(t)}", style="dim"))
    return Group(*lines)


def _folded(findings: tuple[Finding, ...]) -> list[Finding | str]:
    """Server findings with PostgreSQL CVEs summarised in one line."""
    pg_cves = [f for f in findings if f.kind is FindingKind.VULNERABLE]
    out: list[Finding | str] = [f for f in findings if f.kind is not FindingKind.VULNERABLE]
    if pg_cves:
        exposed = [f for f in pg_cves if f.exposed]
        detail = count_by_severity(f.severity for f in exposed)
        out.append(
            f"{len(exposed)} PostgreSQL CVEs exposed ({detail or 'none'}), "
            f"{len(pg_cves) - len(exposed)} affected but not exposed"
        )
    return out


def _server_line(item: Finding | str) -> Text:
    if isinstance(item, str):
        return Text(f"  {item}", style="yellow")
    text = Text("  ")
    text.append(f"{item.kind.value} ", style=_STYLE.get(item.severity, ""))
    text.append(f"{item.title} → {item.next_action}")
    return text


def _db_row(db: DatabaseReport) -> tuple[str | Text, ...]:
    if db.facts is None:
        reason = db.failure.reason if db.failure else "not scanned"
        return (db.name, "-", "-", Text(reason, style="red"), "")
    pv = db.facts.pgvector
    cells = Text()
    for i, f in enumerate(db.findings):
        label = f.kind.value + (f" {f.id}" if f.id else "")
        if f.exposed is False:
            label += " (not exposed)"
        if f.muted:
            label += " (muted)"
        if i:
            cells.append("\n")
        cells.append(label, style="dim" if f.muted else _STYLE.get(f.severity, ""))
    action = next((f.next_action for f in db.findings if not f.muted and f.rank > 0), "")
    return (
        db.name,
        pv.installed_version or "-",
        pv.default_version or "-",
        cells if db.findings else Text("ok", style="green"),
        action,
    )


def _summary(t: TargetReport) -> str:
    counts = count_by_severity(f.severity for f in t.all_findings() if not f.muted)
    return f"{len(t.databases)} databases · " + (counts or "no findings")
