"""One CSV row per finding, for spreadsheets and ad-hoc analysis."""

from __future__ import annotations

import csv
import io

from vecpatch.report.model import ScanReport

COLUMNS = (
    "target",
    "environment",
    "database",
    "kind",
    "severity",
    "id",
    "aliases",
    "affected",
    "exposed",
    "installed_version",
    "fix_version",
    "fix_available_at",
    "muted",
    "title",
    "next_action",
)


def render(report: ScanReport) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    for target in report.targets:
        for f in target.all_findings():
            writer.writerow(
                [
                    _safe(f.target),
                    target.environment or "",
                    _safe(f.database or ""),
                    f.kind.value,
                    f.severity,
                    f.id or "",
                    " ".join(f.aliases),
                    _bool(f.affected),
                    _bool(f.exposed),
                    f.installed_version or "",
                    f.fix_version or "",
                    f.fix_available_at.isoformat() if f.fix_available_at else "",
                    _bool(f.muted),
                    _safe(f.title),
                    _safe(f.next_action),
                ]
            )
    return buf.getvalue()


def _bool(value: bool | None) -> str:
    return "" if value is None else str(value).lower()


def _safe(text: str) -> str:
    """Defuse spreadsheet formula injection (a cell starting with = + - @)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
