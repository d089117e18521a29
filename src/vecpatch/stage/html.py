"""The HTML report: one self-contained page (no CDN, no script) with inline SVG charts.

Charts are drawn here as plain SVG: recall@k before/after per index, and latency
p50/p95/p99 before/after per index. Every text is escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

from vecpatch.stage.model import CaseResult, Outcome, StageReport, Verdict

BEFORE, AFTER = "#8da0cb", "#fc8d62"
_COLOR = {Verdict.PASS: "#1a7f37", Verdict.FAIL: "#cf222e", Verdict.SKIP: "#6e7781",
          Verdict.ERROR: "#bc4c00", Verdict.NOT_APPLICABLE: "#6e7781"}  # fmt: skip
_OUTCOME_COLOR = {Outcome.PASS: "#1a7f37", Outcome.FAIL: "#cf222e", Outcome.INCOMPLETE: "#bc4c00",
                  Outcome.NOTHING_TO_STAGE: "#6e7781"}  # fmt: skip


def bars(title: str, groups: Sequence[tuple[str, Sequence[float]]], series: Sequence[str],
         unit: str, top: float | None = None) -> str:  # fmt: skip
    """A grouped bar chart: one group per label, one bar per series value."""
    if not groups:
        return ""
    colors = [BEFORE, AFTER, "#66c2a5", "#e78ac3"]
    width, row_h, left = 760, 22 * len(series) + 10, 260
    height = 40 + row_h * len(groups) + 20
    peak = top or max((v for _, vals in groups for v in vals), default=1.0) or 1.0
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'role="img" aria-label="{escape(title)}">',
           f'<text x="0" y="16" font-weight="bold">{escape(title)}</text>']  # fmt: skip
    for s_no, name in enumerate(series):
        x = left + s_no * 120
        out.append(f'<rect x="{x}" y="24" width="10" height="10" fill="{colors[s_no % 4]}"/>')
        out.append(f'<text x="{x + 14}" y="33" font-size="11">{escape(name)}</text>')
    for g_no, (label, values) in enumerate(groups):
        y0 = 44 + g_no * row_h
        out.append(f'<text x="0" y="{y0 + 14}" font-size="11">{escape(label[:40])}</text>')
        for s_no, value in enumerate(values):
            w = max(1.0, (width - left - 80) * value / peak)
            y = y0 + s_no * 22
            out.append(f'<rect x="{left}" y="{y}" width="{w:.1f}" height="18" '
                       f'fill="{colors[s_no % 4]}"/>')  # fmt: skip
            out.append(f'<text x="{left + w + 4:.1f}" y="{y + 13}" font-size="11">'
                       f"{value:.3g} {escape(unit)}</text>")  # fmt: skip
    out.append("</svg>")
    return "\n".join(out)


def _index_cases(report: StageReport, prefix: str) -> list[CaseResult]:
    return [c for c in report.cases if c.id.startswith(prefix) and c.before and c.after]


def _num(doc: dict[str, Any] | Any, *keys: str) -> float:
    value: Any = doc
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return float(value) if isinstance(value, int | float) else 0.0


def charts(report: StageReport) -> str:
    recall = [
        (c.id.removeprefix("performance.recall."),
         [_num(dict(c.before or {}), "recall"), _num(dict(c.after or {}), "recall")])
        for c in _index_cases(report, "performance.recall.")
    ]  # fmt: skip
    latency = []
    for c in _index_cases(report, "performance.latency."):
        name = c.id.removeprefix("performance.latency.")
        for p in ("p50", "p95", "p99"):
            latency.append(
                (f"{name} {p}", [_num(dict(c.before or {}), "latency_ms", p),
                                 _num(dict(c.after or {}), "latency_ms", p)])
            )  # fmt: skip
    return "\n".join(
        [
            bars("recall@10 per index", recall, ["before", "after"], "", top=1.0),
            bars("latency per index (ms)", latency, ["before", "after"], "ms"),
        ]
    )


def page(report: StageReport) -> str:
    s = report.staging
    colour = _OUTCOME_COLOR[report.verdict]
    rows = "\n".join(
        f"<tr><td><code>{escape(c.id)}</code></td><td>{c.category.value}</td>"
        f"<td>{'yes' if c.critical else 'no'}</td>"
        f'<td style="color:{_COLOR[c.verdict]};font-weight:bold">{c.verdict.value}</td>'
        f"<td>{escape(c.why)}</td></tr>"
        for c in report.cases
    )
    notes = "".join(f"<li>{escape(str(n))}</li>" for n in [*s.get("notes", []), *report.notes])
    times = ", ".join(f"{escape(k)} {v:.1f} s" for k, v in report.timings.items())
    drill = ""
    if report.drill:
        drill = (f"<p>Rollback drill: {escape(str(report.drill.get('outcome')))}; restore "
                 f"{escape(str(report.drill.get('restore_seconds')))} s.</p>")  # fmt: skip
    failed = ", ".join(escape(c.id) for c in report.critical_failures) or "none"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>vecpatch stage {escape(report.run_id)}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em;max-width:1100px}}
table{{border-collapse:collapse}}td,th{{border:1px solid #d0d7de;padding:4px 8px;vertical-align:top;
font-size:13px}}</style></head><body>
<h1>vecpatch stage: <span style="color:{colour}">{report.verdict.value}</span></h1>
<p>Staging {escape(str(s.get("kind")))} <code>{escape(str(s.get("name")))}</code>, database
<code>{escape(str(s.get("database")))}</code>: pgvector {escape(str(report.installed))} &rarr;
{escape(str(report.target))}. Run <code>{escape(report.run_id)}</code>, {report.duration:.1f} s;
coverage {report.coverage:.0%}. Failed critical cases: {failed}.</p>
<p>Times: {times}</p>{drill}<ul>{notes}</ul>
{charts(report)}
<h2>Cases</h2>
<table><tr><th>case</th><th>category</th><th>critical</th><th>verdict</th><th>why</th></tr>
{rows}
</table></body></html>
"""
