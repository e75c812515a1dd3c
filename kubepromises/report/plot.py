"""Line charts as SVG documents, for figures measured as curves (a load's rate against its
latency, say): no plotting library, no script, so a chart opens in any browser and sits in a
self-contained report or a Markdown page as it is.

One polyline per series with a dot per point; a point of a series can be marked (a ring: the
knee of a saturation curve) and points can be flagged (a cross: a run with failures); a dashed
horizontal line shows a threshold (an SLO). Both axes start at 0 and end at a round number
above the largest value, with five ticks.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

Point = tuple[float, float]

#: The series' colours, first to last (distinguishable in colour and in grey).
COLOURS = ("#1f5fa8", "#c2410c", "#15803d", "#7e22ce", "#0f172a")
TICKS = 5
#: Margins around the plotting area: left, right, top, bottom (room for ticks and labels).
MARGINS = (64, 150, 40, 48)


@dataclass(frozen=True)
class Series:
    name: str
    points: tuple[Point, ...]
    #: A point of the series to ring (e.g. a saturation curve's knee), if any.
    marked: Point | None = None
    #: Points to cross (e.g. runs with failed requests).
    flagged: tuple[Point, ...] = ()


@dataclass(frozen=True)
class Threshold:
    label: str
    y: float


def round_up(value: float) -> float:
    """The smallest of 1, 2, 2.5 or 5 times a power of ten that is at least `value` (1 for 0)."""
    if value <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    return next(step * power for step in (1.0, 2.0, 2.5, 5.0, 10.0) if step * power >= value)


def _checked(series: Sequence[Series], threshold: Threshold | None) -> None:
    if not series:
        raise ValueError("a chart needs at least one series")
    for one in series:
        if not one.points:
            raise ValueError(f"series {one.name!r} has no points")
        values = [v for point in (*one.points, *one.flagged) for v in point]
        if one.marked is not None:
            values += list(one.marked)
        if threshold is not None:
            values.append(threshold.y)
        bad = [v for v in values if not math.isfinite(v) or v < 0]
        if bad:
            raise ValueError(f"series {one.name!r}: {bad[0]} is not a finite value of 0 or more")


def _number(value: float) -> str:
    return f"{value:g}"


def line_chart(
    title: str,
    x_label: str,
    y_label: str,
    series: Sequence[Series],
    threshold: Threshold | None = None,
    *,
    width: int = 720,
    height: int = 400,
) -> str:
    """The chart as a standalone SVG document (ValueError for no series, a series without
    points, or a value that is negative or not finite)."""
    _checked(series, threshold)
    left, right, top, bottom = MARGINS
    inner_w, inner_h = width - left - right, height - top - bottom
    xs = [x for one in series for x, _ in one.points]
    ys = [y for one in series for _, y in one.points] + ([threshold.y] if threshold else [])
    x_max, y_max = round_up(max(xs)), round_up(max(ys))

    def at(point: Point) -> tuple[float, float]:
        x, y = point
        return left + x / x_max * inner_w, top + inner_h - y / y_max * inner_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f"<title>{escape(title)}</title>",
        '<rect width="100%" height="100%" fill="white"/>',
        f'<text x="{left}" y="{top - 16}" font-size="14" font-weight="bold">{escape(title)}</text>',
    ]
    for tick in range(TICKS + 1):
        x_value, y_value = x_max * tick / TICKS, y_max * tick / TICKS
        x, _ = at((x_value, 0))
        _, y = at((0, y_value))
        parts += [
            f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + inner_h}" stroke="#e5e7eb"/>',
            f'<line x1="{left}" y1="{y:.1f}" x2="{left + inner_w}" y2="{y:.1f}" stroke="#e5e7eb"/>',
            f'<text x="{x:.1f}" y="{top + inner_h + 16}" text-anchor="middle">'
            f"{_number(x_value)}</text>",
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{_number(y_value)}</text>',
        ]
    parts += [
        f'<line x1="{left}" y1="{top + inner_h}" x2="{left + inner_w}" y2="{top + inner_h}" '
        'stroke="black"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + inner_h}" stroke="black"/>',
        f'<text x="{left + inner_w / 2:.1f}" y="{height - 10}" text-anchor="middle">'
        f"{escape(x_label)}</text>",
        f'<text x="14" y="{top + inner_h / 2:.1f}" text-anchor="middle" '
        f'transform="rotate(-90 14 {top + inner_h / 2:.1f})">{escape(y_label)}</text>',
    ]
    if threshold is not None:
        _, y = at((0, threshold.y))
        parts += [
            f'<line class="threshold" x1="{left}" y1="{y:.1f}" x2="{left + inner_w}" '
            f'y2="{y:.1f}" stroke="#b91c1c" stroke-dasharray="6 4"/>',
            f'<text x="{left + inner_w + 6}" y="{y + 4:.1f}" fill="#b91c1c">'
            f"{escape(threshold.label)}</text>",
        ]
    for index, one in enumerate(series):
        colour = COLOURS[index % len(COLOURS)]
        placed = [at(point) for point in sorted(one.points)]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in placed)
        parts.append(
            f'<polyline class="series" data-name="{escape(one.name)}" points="{path}" '
            f'fill="none" stroke="{colour}" stroke-width="2"/>'
        )
        parts += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"/>' for x, y in placed]
        if one.marked is not None:
            x, y = at(one.marked)
            parts.append(
                f'<circle class="marked" cx="{x:.1f}" cy="{y:.1f}" r="8" fill="none" '
                f'stroke="{colour}" stroke-width="2"/>'
            )
        for point in one.flagged:
            x, y = at(point)
            parts.append(
                f'<path class="flagged" d="M{x - 6:.1f},{y - 6:.1f} L{x + 6:.1f},{y + 6:.1f} '
                f'M{x - 6:.1f},{y + 6:.1f} L{x + 6:.1f},{y - 6:.1f}" stroke="#b91c1c" '
                'stroke-width="2"/>'
            )
        legend_y = top + 8 + index * 18
        parts += [
            f'<line x1="{left + inner_w + 6}" y1="{legend_y}" x2="{left + inner_w + 26}" '
            f'y2="{legend_y}" stroke="{colour}" stroke-width="2"/>',
            f'<text x="{left + inner_w + 30}" y="{legend_y + 4}">{escape(one.name)}</text>',
        ]
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
