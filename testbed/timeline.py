"""Traffic over time as an inline SVG: requests and failures per second, with the faults marked.

Hand-written SVG (no plotting library): a bar per second of requests and, over it, of failed
requests, and a dashed vertical line per fault moment (``{"pod deleted": 12.3}``), all on the
traffic probe's clock (``TrafficProbe.elapsed()``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from html import escape
from typing import Final

from testbed.traffic import Summary

WIDTH: Final = 760
HEIGHT: Final = 280
LEFT, RIGHT, TOP, BOTTOM = 50, 20, 44, 56
REQUESTS_COLOUR: Final = "#8ab4f8"
FAILURES_COLOUR: Final = "#d93025"
MARK_COLOUR: Final = "#202124"

_Scale = Callable[[float], float]


@dataclass(frozen=True)
class Bucket:
    """One slice of the timeline: `span` seconds from `start`, its requests and failures."""

    start: float
    span: float
    requests: int
    failures: int

    @property
    def rate(self) -> float:
        return self.requests / self.span if self.span > 0 else 0.0

    @property
    def failure_rate(self) -> float:
        return self.failures / self.span if self.span > 0 else 0.0


def buckets(summary: Summary, width: float = 1.0) -> list[Bucket]:
    """Requests and failures per `width` seconds.

    The last bucket counts over the time it covered, but at least half a width, so that a few
    requests in its last instant neither vanish nor spike.
    """
    latest = max((o.at for o in summary.outcomes), default=0.0)
    end = max(summary.duration, latest)
    count = max(1, math.ceil(end / width)) if end > 0 else 0
    if summary.outcomes and latest >= count * width:  # one exactly on the last boundary
        count += 1
    requests, failures = [0] * count, [0] * count
    for outcome in summary.outcomes:
        index = int(outcome.at // width)
        requests[index] += 1
        failures[index] += 0 if outcome.ok else 1
    return [
        Bucket(i * width, min(width, max(end - i * width, width / 2)), requests[i], failures[i])
        for i in range(count)
    ]


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 * 10^n at or above value (an axis maximum)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    return float(next(step * power for step in (1, 2, 2.5, 5, 10) if step * power >= value))


def tick_step(seconds: float, most: int = 10) -> float:
    """A step from 1, 2, 5, 10, 15, 30, 60 … seconds giving at most `most` ticks."""
    for step in (1, 2, 5, 10, 15, 30, 60, 120, 300, 600):
        if seconds / step <= most:
            return float(step)
    return float(math.ceil(seconds / most))


def render(
    summary: Summary,
    marks: Mapping[str, float] | None = None,
    *,
    title: str = "",
    width: float = 1.0,
) -> str:
    """The SVG document (also valid inline in HTML)."""
    slices = buckets(summary, width)
    span = len(slices) * width or 1.0
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top_rate = nice_ceiling(max((b.rate for b in slices), default=0.0))

    def x(seconds: float) -> float:
        return LEFT + seconds / span * plot_w

    def y(rate: float) -> float:
        return TOP + plot_h - rate / top_rate * plot_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="timeline" width="{WIDTH}" '
        f'height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" '
        'font-size="11">',
        f"<title>{escape(title or 'traffic timeline')}</title>",
        f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>',
    ]
    parts += _axes(x, y, span, top_rate)
    bar = plot_w / len(slices) if slices else 0.0
    for index, b in enumerate(slices):
        left = LEFT + index * bar
        parts.append(_bar("requests", left, bar, y(b.rate), b, b.requests, REQUESTS_COLOUR))
        if b.failures:
            parts.append(
                _bar("failures", left, bar, y(b.failure_rate), b, b.failures, FAILURES_COLOUR)
            )
    for row, (label, at) in enumerate(sorted((marks or {}).items(), key=lambda m: m[1])):
        parts += _mark(label, at, x(at), row)
    parts += _legend()
    caption = f"{title} — {summary}" if title else str(summary)
    parts.append(f'<text x="{LEFT}" y="{HEIGHT - 8}" fill="#202124">{escape(caption[:130])}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def _bar(kind: str, left: float, width: float, top: float, b: Bucket, n: int, fill: str) -> str:
    bottom = HEIGHT - BOTTOM
    return (
        f'<rect class="{kind}" data-second="{b.start:g}" data-count="{n}" x="{left:.1f}" '
        f'y="{top:.1f}" width="{max(width - 1, 1):.1f}" height="{bottom - top:.1f}" '
        f'fill="{fill}"/>'
    )


def _axes(x: _Scale, y: _Scale, span: float, top_rate: float) -> list[str]:
    bottom, right = HEIGHT - BOTTOM, WIDTH - RIGHT
    parts = [
        f'<line x1="{LEFT}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="#555"/>',
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{bottom}" stroke="#555"/>',
        f'<text x="{LEFT - 40}" y="{TOP - 30}" fill="#555">per second</text>',
        f'<text x="{right}" y="{bottom + 30}" text-anchor="end" fill="#555">'
        "seconds since traffic started</text>",
    ]
    for value in (0.0, top_rate / 2, top_rate):
        parts.append(
            f'<text x="{LEFT - 6}" y="{y(value) + 4:.1f}" text-anchor="end" fill="#555">'
            f"{value:g}</text>"
        )
    step = tick_step(span)
    tick = 0.0
    while tick <= span + 1e-9:
        parts.append(
            f'<text x="{x(tick):.1f}" y="{bottom + 14}" text-anchor="middle" fill="#555">'
            f"{tick:g}</text>"
        )
        tick += step
    return parts


def _mark(label: str, at: float, position: float, row: int) -> list[str]:
    bottom = HEIGHT - BOTTOM
    anchor, dx = ("end", -3) if position > WIDTH * 0.75 else ("start", 3)
    label_y = TOP - 4 - 13 * (row % 2)
    return [
        f'<line class="mark" data-label="{escape(label)}" data-at="{at:.2f}" '
        f'x1="{position:.1f}" y1="{label_y + 2}" x2="{position:.1f}" y2="{bottom}" '
        f'stroke="{MARK_COLOUR}" stroke-dasharray="4 3"/>',
        f'<text class="mark-label" x="{position + dx:.1f}" y="{label_y}" '
        f'text-anchor="{anchor}" fill="{MARK_COLOUR}">{escape(label)} ({at:.1f} s)</text>',
    ]


def _legend() -> list[str]:
    right = WIDTH - RIGHT
    return [
        f'<rect x="{right - 170}" y="6" width="10" height="10" fill="{REQUESTS_COLOUR}"/>',
        f'<text x="{right - 156}" y="15">requests/s</text>',
        f'<rect x="{right - 80}" y="6" width="10" height="10" fill="{FAILURES_COLOUR}"/>',
        f'<text x="{right - 66}" y="15">failed/s</text>',
    ]
