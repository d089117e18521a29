"""Closed set of output formats, and atomic writes of a rendered report."""

from __future__ import annotations

import os
import tempfile
from enum import StrEnum
from pathlib import Path
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


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so readers never see a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
