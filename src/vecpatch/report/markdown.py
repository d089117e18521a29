"""A Markdown report for pull requests, tickets and wikis."""

from __future__ import annotations

from vecpatch.findings import Finding
from vecpatch.report.model import ScanReport, TargetReport


def render(report: ScanReport) -> str:
    lines = [
        "# vecpatch scan",
        "",
        f"Generated {report.generated_at:%Y-%m-%d %H:%M} UTC · catalog "
        f"{report.catalog_generated_at:%Y-%m-%d} ({report.catalog_age_days} days old) · "
        f"{len(report.targets)} targets, {report.database_count()} databases",
        "",
    ]
    lines += [f"> warning: {w}" for w in report.warnings]
    for target in report.targets:
        lines += _target(target)
    return "\n".join(lines) + "\n"


def _target(t: TargetReport) -> list[str]:
    head = f"## {_esc(t.target)}" + (f" ({_esc(t.environment)})" if t.environment else "")
    if t.failure is not None:
        return [head, "", f"**{t.failure.kind.value}**: {_esc(t.failure.reason)}", ""]
    server = t.server
    out = [head, ""]
    if server is not None:
        role = "replica" if server.in_recovery else "primary"
        out += [f"PostgreSQL {server.version} ({server.pointer_bits}-bit, {role})", ""]
    out += ["| database | pgvector | on disk | finding | severity | next action |"]
    out += ["|---|---|---|---|---|---|"]
    out += [_row("(server)", "", "", f) for f in t.findings]
    for db in t.databases:
        installed = db.facts.pgvector.installed_version if db.facts else None
        on_disk = db.facts.pgvector.default_version if db.facts else None
        if not db.findings:
            out.append(f"| {_esc(db.name)} | {installed or '-'} | {on_disk or '-'} | ok | | |")
        out += [_row(db.name, installed or "-", on_disk or "-", f) for f in db.findings]
    return [*out, ""]


def _row(database: str, installed: str, on_disk: str, f: Finding) -> str:
    label = f.kind.value + (f" {f.id}" if f.id else "")
    if f.muted:
        label += " (muted)"
    return (
        f"| {_esc(database)} | {installed} | {on_disk} | {_esc(label)} | {f.severity} "
        f"| {_esc(f.next_action)} |"
    )


def _esc(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
