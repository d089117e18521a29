"""Charts as inline SVG, drawn on the server: no JavaScript, no CDN, and the same markup
works in the dashboard, the static HTML report and a browser test.

Every mark carries ``data-label`` and ``data-value`` so tests (and curious operators)
can read the exact number a bar or point stands for.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 640
BAR_HEIGHT = 22
LABEL_WIDTH = 240


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    ok: bool = True
    note: str = ""


def _fmt(value: float) -> str:
    return f"{value:.1f}" if value % 1 else f"{value:.0f}"


def bar_chart(chart_id: str, bars: Sequence[Bar], unit: str, limit: float | None = None) -> Markup:
    """Horizontal bars (one per item), with an optional dashed target line at *limit*."""
    if not bars:
        return Markup(f'<p class="empty" id="{escape(chart_id)}">no data in this period</p>')
    top = max([b.value for b in bars] + [limit or 0.0]) or 1.0
    span = WIDTH - LABEL_WIDTH - 130
    height = len(bars) * (BAR_HEIGHT + 6) + 24
    parts = [
        f'<svg id="{escape(chart_id)}" class="chart" role="img" width="{WIDTH}" '
        f'height="{height}" viewBox="0 0 {WIDTH} {height}" xmlns="http://www.w3.org/2000/svg">'
    ]
    for i, bar in enumerate(bars):
        y = 4 + i * (BAR_HEIGHT + 6)
        w = max(1.0, span * bar.value / top)
        cls = "bar ok" if bar.ok else "bar missed"
        label, note = escape(bar.label), escape(bar.note)
        parts.append(
            f'<text x="{LABEL_WIDTH - 6}" y="{y + 15}" text-anchor="end" class="label">{label}'
            f"</text>"
            f'<rect class="{cls}" x="{LABEL_WIDTH}" y="{y}" width="{w:.1f}" height="{BAR_HEIGHT}"'
            f' data-label="{label}" data-value="{bar.value:.3f}"><title>{label}: '
            f"{_fmt(bar.value)} {escape(unit)} {note}</title></rect>"
            f'<text x="{LABEL_WIDTH + w + 4:.1f}" y="{y + 15}" class="value">'
            f"{_fmt(bar.value)} {escape(unit)}{' ' + note if note else ''}</text>"
        )
    if limit is not None:
        x = LABEL_WIDTH + span * limit / top
        parts.append(
            f'<line class="limit" x1="{x:.1f}" x2="{x:.1f}" y1="0" y2="{height - 18}" '
            f'data-value="{limit:.3f}"/><text x="{x:.1f}" y="{height - 4}" class="limit-label" '
            f'text-anchor="middle">target {_fmt(limit)} {escape(unit)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def line_chart(chart_id: str, points: Sequence[tuple[str, float]], unit: str) -> Markup:
    """A step line over time (one point per scan), each point labelled with its value."""
    if not points:
        return Markup(f'<p class="empty" id="{escape(chart_id)}">no data in this period</p>')
    height, pad = 200, 36
    top = max(v for _, v in points) or 1.0
    step = (WIDTH - 2 * pad) / max(1, len(points) - 1)
    coords = [
        (pad + i * step, height - pad - (height - 2 * pad) * v / top)
        for i, (_, v) in enumerate(points)
    ]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    parts = [
        f'<svg id="{escape(chart_id)}" class="chart" role="img" width="{WIDTH}" '
        f'height="{height}" viewBox="0 0 {WIDTH} {height}" xmlns="http://www.w3.org/2000/svg">',
        f'<line class="axis" x1="{pad}" x2="{WIDTH - pad}" y1="{height - pad}" '
        f'y2="{height - pad}"/>',
        f'<polyline class="series" fill="none" points="{path}"/>',
    ]
    for (label, value), (x, y) in zip(points, coords, strict=True):
        text = escape(label)
        parts.append(
            f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="4" data-label="{text}" '
            f'data-value="{value:.3f}"><title>{text}: {_fmt(value)} {escape(unit)}</title>'
            f'</circle><text x="{x:.1f}" y="{y - 8:.1f}" class="value" text-anchor="middle">'
            f"{_fmt(value)}</text>"
        )
    first, last = escape(points[0][0]), escape(points[-1][0])
    parts.append(
        f'<text x="{pad}" y="{height - 12}" class="label">{first}</text>'
        f'<text x="{WIDTH - pad}" y="{height - 12}" class="label" text-anchor="end">{last}</text>'
        "</svg>"
    )
    return Markup("".join(parts))
