"""Charts as inline SVG, drawn on the server: no JavaScript, no CDN, and the same markup
works in the dashboard, the static HTML report and a browser test.

Every chart has labelled axes with units and tick values; every mark carries a tooltip
(``<title>``) and ``data-label``/``data-value`` so tests (and curious operators) can read
the exact number it stands for. Charts scale to the page width (``viewBox``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 760
BAR_HEIGHT = 20
LABEL_WIDTH = 250
COLOURS = ("#c2410c", "#1d4f91", "#6b7280")


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    ok: bool = True
    note: str = ""


@dataclass(frozen=True)
class Series:
    """One line: its name and (x label, tooltip time, value) points."""

    name: str
    points: Sequence[tuple[str, float]]


def _fmt(value: float) -> str:
    return f"{value:.1f}" if value % 1 else f"{value:.0f}"


def _ticks(top: float) -> list[float]:
    """0 and three more round ticks up to at least *top*."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / 3
    magnitude = 10 ** max(0, len(str(int(raw))) - 1)
    step = max(1.0, float(-(-raw // magnitude) * magnitude)) if raw >= 1 else raw
    return [round(step * i, 3) for i in range(4)]


def _svg(chart_id: str, height: int, label: str) -> str:
    return (
        f'<svg id="{escape(chart_id)}" class="chart" role="img" aria-label="{escape(label)}" '
        f'width="100%" viewBox="0 0 {WIDTH} {height}" preserveAspectRatio="xMinYMin meet" '
        f'xmlns="http://www.w3.org/2000/svg">'
    )


def _empty(chart_id: str) -> Markup:
    return Markup(f'<p class="empty" id="{escape(chart_id)}">no data in this period</p>')


def bar_chart(
    chart_id: str, bars: Sequence[Bar], unit: str, limit: float | None = None, axis: str = ""
) -> Markup:
    """Horizontal bars (one per item) on a labelled value axis, with an optional dashed
    target line at *limit*."""
    if not bars:
        return _empty(chart_id)
    ticks = _ticks(max([b.value for b in bars] + [limit or 0.0]))
    top = ticks[-1] or 1.0
    span = WIDTH - LABEL_WIDTH - 90
    body = len(bars) * (BAR_HEIGHT + 6)
    height = body + 44
    parts = [_svg(chart_id, height, axis or unit)]
    for i, bar in enumerate(bars):
        y = 4 + i * (BAR_HEIGHT + 6)
        w = max(1.0, span * bar.value / top)
        cls = "bar ok" if bar.ok else "bar missed"
        label, note = escape(bar.label), escape(bar.note)
        tip = f"{label}: {_fmt(bar.value)} {escape(unit)}{' (' + note + ')' if note else ''}"
        parts.append(
            f'<text x="{LABEL_WIDTH - 6}" y="{y + 14}" text-anchor="end" class="label">{label}'
            f"<title>{tip}</title></text>"
            f'<rect class="{cls}" x="{LABEL_WIDTH}" y="{y}" width="{w:.1f}" height="{BAR_HEIGHT}"'
            f' data-label="{label}" data-value="{bar.value:.3f}"><title>{tip}</title></rect>'
            f'<text x="{LABEL_WIDTH + w + 4:.1f}" y="{y + 14}" class="value">'
            f"{_fmt(bar.value)}{' ' + note if note else ''}</text>"
        )
    parts.append(
        f'<line class="axis" x1="{LABEL_WIDTH}" x2="{LABEL_WIDTH + span}" y1="{body + 4}" '
        f'y2="{body + 4}"/>'
    )
    for tick in ticks:
        x = LABEL_WIDTH + span * tick / top
        parts.append(
            f'<text x="{x:.1f}" y="{body + 18}" class="tick" text-anchor="middle">'
            f"{_fmt(tick)}</text>"
        )
    parts.append(
        f'<text x="{LABEL_WIDTH + span / 2:.1f}" y="{height - 4}" class="axis-label" '
        f'text-anchor="middle">{escape(axis or unit)}</text>'
    )
    if limit is not None:
        x = LABEL_WIDTH + span * limit / top
        parts.append(
            f'<line class="limit" x1="{x:.1f}" x2="{x:.1f}" y1="0" y2="{body + 4}" '
            f'data-value="{limit:.3f}"><title>target {_fmt(limit)} {escape(unit)}</title></line>'
            f'<text x="{x + 3:.1f}" y="10" class="limit-label">target {_fmt(limit)} '
            f"{escape(unit)}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def line_chart(chart_id: str, series: Sequence[Series], unit: str) -> Markup:
    """Lines over time (one point per scan) on a y axis of *unit* with ticks; the x axis
    names the first, middle and last scan times."""
    points = [p for s in series for p in s.points]
    if not points:
        return _empty(chart_id)
    height, left, pad = 230, 48, 34
    ticks = _ticks(max(v for _, v in points))
    top = ticks[-1] or 1.0
    count = max(len(s.points) for s in series)
    step = (WIDTH - left - pad) / max(1, count - 1)
    inner = height - 2 * pad

    def y_of(value: float) -> float:
        return height - pad - inner * value / top

    parts = [_svg(chart_id, height, unit)]
    for tick in ticks:
        y = y_of(tick)
        parts.append(
            f'<line class="grid" x1="{left}" x2="{WIDTH - pad}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" class="tick" text-anchor="end">{_fmt(tick)}'
            "</text>"
        )
    parts.append(
        f'<text x="12" y="{height / 2:.0f}" class="axis-label" text-anchor="middle" '
        f'transform="rotate(-90 12 {height / 2:.0f})">{escape(unit)}</text>'
        f'<line class="axis" x1="{left}" x2="{left}" y1="{pad}" y2="{height - pad}"/>'
        f'<line class="axis" x1="{left}" x2="{WIDTH - pad}" y1="{height - pad}" '
        f'y2="{height - pad}"/>'
    )
    for n, line in enumerate(series):
        colour = COLOURS[n % len(COLOURS)]
        coords = [(left + i * step, y_of(v)) for i, (_, v) in enumerate(line.points)]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        parts.append(
            f'<polyline class="series" data-series="{escape(line.name)}" fill="none" '
            f'stroke="{colour}" points="{path}"/>'
        )
        for (label, value), (x, y) in zip(line.points, coords, strict=True):
            text = escape(label)
            parts.append(
                f'<circle class="point" data-series="{escape(line.name)}" cx="{x:.1f}" '
                f'cy="{y:.1f}" r="4" fill="{colour}" data-label="{text}" '
                f'data-value="{value:.3f}"><title>{escape(line.name)} at {text}: {_fmt(value)} '
                f"{escape(unit)}</title></circle>"
            )
        parts.append(
            f'<text x="{WIDTH - pad - 4}" y="{pad - 18 + 13 * n}" class="legend" '
            f'text-anchor="end" fill="{colour}">■ {escape(line.name)}</text>'
        )
    labels = series[0].points
    marks = sorted({0, (len(labels) - 1) // 2, len(labels) - 1})
    for i in marks:
        anchor = "start" if i == 0 else "end" if i == len(labels) - 1 else "middle"
        parts.append(
            f'<text x="{left + i * step:.1f}" y="{height - pad + 16}" class="tick" '
            f'text-anchor="{anchor}">{escape(labels[i][0])}</text>'
        )
    parts.append(
        f'<text x="{(left + WIDTH - pad) / 2:.0f}" y="{height - 4}" class="axis-label" '
        f'text-anchor="middle">scan (UTC)</text></svg>'
    )
    return Markup("".join(parts))
