"""Closed set of output formats and the renderer for each (written with vecpatch.atomic)."""

from __future__ import annotations

from enum import StrEnum
from typing import assert_never

from vecpatch.report import csvfmt, jsonfmt, junit, markdown, sarif
from vecpatch.report.model import ScanReport


class OutputFormat(StrEnum):
    """Formats of ``vecpatch scan --format``."""

    TABLE = "table"
    JSON = "json"
    SARIF = "sarif"
    MARKDOWN = "markdown"
    CSV = "csv"
    JUNIT = "junit"


def render(report: ScanReport, fmt: OutputFormat, *, fail_on: str, artifact: str) -> str:
    """Render a non-table format to text (the table is drawn by the CLI with Rich)."""
    match fmt:
        case OutputFormat.JSON:
            return jsonfmt.render(report)
        case OutputFormat.SARIF:
            return sarif.render(report, artifact=artifact)
        case OutputFormat.MARKDOWN | OutputFormat.TABLE:
            return markdown.render(report)
        case OutputFormat.CSV:
            return csvfmt.render(report)
        case OutputFormat.JUNIT:
            return junit.render(report, fail_on=fail_on)
        case _:
            assert_never(fmt)
