"""Hand-written SVG line charts on log axes: no plotting library, byte-for-byte reproducible.

A chart is a list of series, each a list of points with an optional low-high
bar (the spread of the repeats). Axes are logarithmic (base 10 ticks);
values that are not positive are left out, as a log axis cannot show them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

WIDTH, HEIGHT = 680, 420
LEFT, RIGHT, TOP, BOTTOM = 72, 190, 40, 56
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#7f7f7f", "#9467bd", "#ff7f0e")
DASHES = ("", "6 3", "2 3", "8 3 2 3", "", "")


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class Series:
    name: str
    points: tuple[Point, ...]
    colour: int | None = None  # index into COLOURS; the series' position when None
    dash: int | None = None  # index into DASHES; the series' position when None


@dataclass(frozen=True)
class Chart:
    title: str
    x_label: str
    y_label: str
    series: tuple[Series, ...]
    subtitle: str = ""


def _usable(series: Sequence[Series]) -> list[Point]:
    return [p for s in series for p in s.points if p.x > 0 and p.y > 0 and math.isfinite(p.y)]


def _decades(values: Sequence[float]) -> tuple[int, int]:
    low = math.floor(math.log10(min(values)))
    high = math.ceil(math.log10(max(values)))
    return low, max(high, low + 1)


def _format_tick(exponent: int) -> str:
    value = 10.0**exponent
    if -3 <= exponent <= 5:
        return f"{value:g}"
    return f"1e{exponent}"


class _Scale:
    def __init__(self, low: int, high: int, start: float, stop: float) -> None:
        self.low, self.high, self.start, self.stop = low, high, start, stop

    def __call__(self, value: float) -> float:
        share = (math.log10(value) - self.low) / (self.high - self.low)
        return self.start + share * (self.stop - self.start)


def render(chart: Chart) -> str:
    """The chart as a standalone SVG document."""
    points = _usable(chart.series)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
        f'<text x="{WIDTH / 2:.0f}" y="18" text-anchor="middle" font-size="14">'
        f"{escape(chart.title)}</text>",
    ]
    if chart.subtitle:
        out.append(f'<text x="{WIDTH / 2:.0f}" y="33" text-anchor="middle" fill="#555">'
                   f"{escape(chart.subtitle)}</text>")
    if not points:
        out.append(f'<text x="{WIDTH / 2:.0f}" y="{HEIGHT / 2:.0f}" text-anchor="middle">'
                   "no data</text></svg>")
        return "\n".join(out) + "\n"
    x_low, x_high = _decades([p.x for p in points])
    y_values = [p.y for p in points] + [v for p in points for v in (p.low, p.high) if v and v > 0]
    y_low, y_high = _decades(y_values)
    x = _Scale(x_low, x_high, LEFT, WIDTH - RIGHT)
    y = _Scale(y_low, y_high, HEIGHT - BOTTOM, TOP)
    out.extend(_axes(chart, x, y))
    for index, series in enumerate(chart.series):
        out.extend(_series(series, index, x, y))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _axes(chart: Chart, x: _Scale, y: _Scale) -> list[str]:
    parts = ['<g stroke="#ddd">']
    labels = []
    for exponent in range(x.low, x.high + 1):
        px = x(10.0**exponent)
        parts.append(f'<line x1="{px:.1f}" y1="{TOP}" x2="{px:.1f}" y2="{HEIGHT - BOTTOM}"/>')
        labels.append(f'<text x="{px:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle">'
                      f"{_format_tick(exponent)}</text>")
    for exponent in range(y.low, y.high + 1):
        py = y(10.0**exponent)
        parts.append(f'<line x1="{LEFT}" y1="{py:.1f}" x2="{WIDTH - RIGHT}" y2="{py:.1f}"/>')
        labels.append(f'<text x="{LEFT - 6}" y="{py + 4:.1f}" text-anchor="end">'
                      f"{_format_tick(exponent)}</text>")
    parts.append("</g>")
    parts.append(f'<rect x="{LEFT}" y="{TOP}" width="{WIDTH - RIGHT - LEFT}" '
                 f'height="{HEIGHT - BOTTOM - TOP}" fill="none" stroke="#333"/>')
    parts.extend(labels)
    middle_x = (LEFT + WIDTH - RIGHT) / 2
    middle_y = (TOP + HEIGHT - BOTTOM) / 2
    parts.append(f'<text x="{middle_x:.0f}" y="{HEIGHT - 16}" text-anchor="middle">'
                 f"{escape(chart.x_label)}</text>")
    parts.append(f'<text x="18" y="{middle_y:.0f}" text-anchor="middle" '
                 f'transform="rotate(-90 18 {middle_y:.0f})">{escape(chart.y_label)}</text>')
    return parts


def _series(series: Series, index: int, x: _Scale, y: _Scale) -> list[str]:
    colour = COLOURS[(index if series.colour is None else series.colour) % len(COLOURS)]
    dash = DASHES[(index if series.dash is None else series.dash) % len(DASHES)]
    dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
    points = [p for p in series.points if p.x > 0 and p.y > 0 and math.isfinite(p.y)]
    parts = [f'<g stroke="{colour}" fill="{colour}">']
    if len(points) > 1:
        path = " ".join(f"{x(p.x):.1f},{y(p.y):.1f}" for p in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke-width="2"{dash_attr}/>')
    for p in points:
        px, py = x(p.x), y(p.y)
        if p.low and p.high and p.low > 0 and p.high > 0:
            parts.append(f'<line x1="{px:.1f}" y1="{y(p.low):.1f}" x2="{px:.1f}" '
                         f'y2="{y(p.high):.1f}" stroke-width="1"/>')
        parts.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3"/>')
    legend_y = TOP + 16 + 18 * index
    legend_x = WIDTH - RIGHT + 12
    parts.append(f'<line x1="{legend_x}" y1="{legend_y - 4}" x2="{legend_x + 24}" '
                 f'y2="{legend_y - 4}" stroke-width="2"{dash_attr}/>')
    parts.append(f'<text x="{legend_x + 30}" y="{legend_y}" stroke="none" fill="#000">'
                 f"{escape(series.name)}</text>")
    parts.append("</g>")
    return parts
