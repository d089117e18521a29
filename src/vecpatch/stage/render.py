"""Stage reports as text: JSON, Markdown, JUnit XML (for CI) and a self-contained HTML page.

The table format is drawn by the CLI with Rich. Every renderer works from
:meth:`StageReport.to_dict`-level facts, never from live connections, and nothing here
sees a password (the staging DSN is already redacted in ``report.staging``).
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import assert_never
from xml.etree import ElementTree as ET

from vecpatch.stage import html
from vecpatch.stage.model import StageReport, Verdict


class StageFormat(StrEnum):
    """Formats of ``vecpatch stage --format``."""

    TABLE = "table"
    JSON = "json"
    JUNIT = "junit"
    MARKDOWN = "markdown"
    HTML = "html"


def render(report: StageReport, fmt: StageFormat) -> str:
    match fmt:
        case StageFormat.JSON:
            return json.dumps(report.to_dict(), indent=2, default=str) + "\n"
        case StageFormat.JUNIT:
            return junit(report)
        case StageFormat.MARKDOWN | StageFormat.TABLE:
            return markdown(report)
        case StageFormat.HTML:
            return html.page(report)
        case _:
            assert_never(fmt)


_MARK = {Verdict.PASS: "✅ pass", Verdict.FAIL: "❌ fail", Verdict.SKIP: "⏭ skip",
         Verdict.ERROR: "⚠ error", Verdict.NOT_APPLICABLE: "– n/a"}  # fmt: skip


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(report: StageReport) -> str:
    s = report.staging
    lines = [
        f"# vecpatch stage: {report.verdict.value.upper()}",
        "",
        f"- staging: {s.get('kind')} `{s.get('name')}` database `{s.get('database')}`",
        f"- update: pgvector {report.installed} -> {report.target}",
        f"- run: `{report.run_id}`, {report.duration:.1f} s; coverage {report.coverage:.0%} "
        "(critical cases executed and passed)",
    ]
    lines += [f"- note: {n}" for n in [*s.get("notes", []), *report.notes]]
    lines += [f"- **warning:** {w}" for w in report.warnings]
    if report.critical_failures:
        lines.append(
            f"- **failed critical cases:** {', '.join(c.id for c in report.critical_failures)}"
        )
    if report.not_run:
        lines.append(f"- **critical cases not run:** {', '.join(c.id for c in report.not_run)}")
    times = ", ".join(f"{k} {v:.1f} s" for k, v in report.timings.items())
    lines += [f"- times: {times}", ""]
    if report.drill:
        lines.append(
            f"Rollback drill: {report.drill.get('outcome')}, restore "
            f"{report.drill.get('restore_seconds')} s "
            f"(backup {report.drill.get('backup_seconds')} s)."
        )
        lines.append("")
    lines += ["| case | category | critical | verdict | why |", "|---|---|---|---|---|"]
    for c in report.cases:
        crit = "yes" if c.critical else "no"
        lines.append(
            f"| `{c.id}` | {c.category.value} | {crit} | {_MARK[c.verdict]} | {_cell(c.why)} |"
        )
    return "\n".join(lines) + "\n"


def junit(report: StageReport) -> str:
    """One ``<testsuite>`` per category; failing cases carry the why as their message."""
    root = ET.Element("testsuites", name="vecpatch stage", tests=str(len(report.cases)))
    root.set("failures", str(sum(c.failed for c in report.cases)))
    root.set("time", f"{report.duration:.3f}")
    by_cat: dict[str, list[ET.Element]] = {}
    for c in report.cases:
        case = ET.Element("testcase", classname=f"vecpatch.stage.{c.category.value}", name=c.id)
        case.set("time", f"{c.duration:.3f}")
        if c.failed:
            kind = "critical" if c.critical else "non-critical"
            tag = "failure" if c.verdict is Verdict.FAIL else "error"
            node = ET.SubElement(case, tag, message=c.why[:500], type=kind)
            node.text = "\n".join(f"{k.name}: {k.detail}" for k in c.checks if not k.ok) or c.why
        elif c.verdict in (Verdict.SKIP, Verdict.NOT_APPLICABLE):
            ET.SubElement(case, "skipped", message=c.why[:500])
        by_cat.setdefault(c.category.value, []).append(case)
    for cat, cases in by_cat.items():
        suite = ET.SubElement(root, "testsuite", name=cat, tests=str(len(cases)))
        suite.set("failures", str(sum(1 for e in cases if e.find("failure") is not None)))
        suite.set("errors", str(sum(1 for e in cases if e.find("error") is not None)))
        suite.set("skipped", str(sum(1 for e in cases if e.find("skipped") is not None)))
        suite.extend(cases)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
