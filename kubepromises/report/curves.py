"""Curves in the HTML report: charts measured outside the session (a load's rate against its
p95, requests/s against workers), shown after the promise matrix.

The `curves` ini names SVG files by glob, from the rootdir. Each file is shown as it is, as an
image (never inlined as markup), with a caption that says when its points were measured (the
`at` times in the JSON file of the same name beside it, as `kubepromises.report.plot`'s callers
write them) and whether this session wrote it: a curve from an earlier run is history, as an
earlier run's figure is in the matrix. A pattern that matches nothing, a file that is no SVG
and a figures file that cannot be read are said in the section, not passed over.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path

#: What an SVG document starts with (after any XML declaration and whitespace).
SVG_STARTS = (b"<svg", b"<?xml")


@dataclass(frozen=True)
class Curve:
    """A chart to show: its file, its bytes, when its points were measured."""

    path: Path
    svg: bytes
    #: The earliest and latest `at` of its figures file; None when unknown (see `problem`).
    measured: tuple[str, str] | None
    #: Written by this session (the file changed after the session began).
    fresh: bool
    #: Why `measured` is unknown, or "".
    problem: str = ""


def measured_at(figures: object) -> Iterator[str]:
    """Every `at` time string anywhere in a figures document."""
    if isinstance(figures, dict):
        for key, value in figures.items():
            if key == "at" and isinstance(value, str):
                yield value
            else:
                yield from measured_at(value)
    elif isinstance(figures, list):
        for value in figures:
            yield from measured_at(value)


def read_curve(path: Path, session_began: float) -> Curve | str:
    """The curve of an SVG file, or why it cannot be shown."""
    svg = path.read_bytes()
    if not svg.lstrip().startswith(SVG_STARTS):
        return f"{path.name} is not an SVG document: not shown"
    fresh = path.stat().st_mtime >= session_began
    figures = path.with_suffix(".json")
    try:
        times = sorted(measured_at(json.loads(figures.read_text())))
    except FileNotFoundError:
        return Curve(path, svg, None, fresh, f"no {figures.name} beside it")
    except ValueError as error:
        return Curve(path, svg, None, fresh, f"{figures.name} is not JSON ({error})")
    if not times:
        return Curve(path, svg, None, fresh, f"{figures.name} holds no `at` time")
    return Curve(path, svg, (times[0], times[-1]), fresh)


def find_curves(
    root: Path, patterns: Sequence[str], session_began: float
) -> tuple[list[Curve], list[str]]:
    """The curves the patterns name (each file once, pattern by pattern, by name within one),
    and what could not be shown: a pattern matching no SVG, a file that is no SVG."""
    curves: list[Curve] = []
    problems: list[str] = []
    seen: set[Path] = set()
    for pattern in patterns:
        matched = sorted(p for p in root.glob(pattern) if p.suffix == ".svg" and p.is_file())
        if not matched:
            problems.append(f"no curve matches {pattern}")
        for path in matched:
            if path in seen:
                continue
            seen.add(path)
            found = read_curve(path, session_began)
            if isinstance(found, str):
                problems.append(found)
            else:
                curves.append(found)
    return curves, problems


def caption(curve: Curve) -> str:
    """`<file>: measured <first> to <last>, an earlier run` (or `this session`)."""
    when = "this session" if curve.fresh else "an earlier run"
    if curve.measured is None:
        return f"{curve.path.name}: when measured unknown ({curve.problem}), {when}"
    first, last = curve.measured
    span = first if first == last else f"{first} to {last}"
    return f"{curve.path.name}: measured {span}, {when}"


def html(curves: Sequence[Curve], problems: Sequence[str]) -> str:
    """The curves as a self-contained HTML section: each an image of its own SVG."""
    figures = "".join(
        f'<figure class="curve {"fresh" if c.fresh else "stale"}">'
        f'<img alt="{escape(c.path.name)}" src="data:image/svg+xml;base64,'
        f'{base64.b64encode(c.svg).decode("ascii")}">'
        f"<figcaption><small>{escape(caption(c))}</small></figcaption></figure>"
        for c in curves
    )
    notes = "".join(f"<li><small>{escape(p)}</small></li>" for p in problems)
    return (
        '<section id="curves"><h2>Curves</h2>'
        "<p><small>Measured outside this session's tests (their own command), shown as "
        "measured: a curve from an earlier run is history, not a verdict of this run.</small>"
        f"</p>{figures}{f'<ul>{notes}</ul>' if notes else ''}</section>"
    )
