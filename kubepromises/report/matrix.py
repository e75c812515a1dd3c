"""The promise matrix's rows: each promise of a drawing, the tests that check it, its figures.

A drawing's promises file (its `promises` field; `kubepromises.drawing` reads and checks it) is
the only place that says which test checks which promise. This module turns its entries into
the report's `Promise` and `Figure` values. Tests are named as in the file: a path relative to
the rootdir (a module, a folder ending in ``/``, or a module and a test function), or a dotted
module name (``package.module``, ``package.module::test``) for tests collected from an installed
package. ``pending`` names tests that may not exist yet: they count as "not run" until they do.
A figure names keys of the run's measurements (``fnmatch`` patterns; ``*`` stands for the
instance), and a figure bound to one of the drawing's SLOs carries its threshold.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal, cast

from kubepromises.drawing import Drawing, FigureEntry, PromiseEntry

#: The boxes of the drawing a promise comes from (promises.schema.json's `source`).
Source = Literal["key features", "deployment summary", "external access", "data flow", "behaviour"]
#: The modes a cluster can be brought up in (promises.schema.json's `mode`): online (upstream
#: images pulled) and offline (air-gapped builds).
Mode = Literal["offline", "online"]
MODES: Final[tuple[Mode, ...]] = ("offline", "online")
Direction = Literal["at most", "at least"]


@dataclass(frozen=True)
class Figure:
    """A measured figure a promise shows: a label, a measurements key pattern, a unit, and
    optionally its threshold: a number measured by this run beyond it fails the promise."""

    label: str
    pattern: str
    unit: str = ""
    threshold: float | None = None
    direction: Direction = "at most"

    def violation(self, value: object) -> str | None:
        """`12.3 s > 10 s`, when a measured number breaks the threshold; None when it holds."""
        if self.threshold is None or isinstance(value, bool) or not isinstance(value, int | float):
            return None
        unit = f" {self.unit}" if self.unit else ""
        if self.direction == "at most" and value > self.threshold:
            return f"{value:g}{unit} > {self.threshold:g}{unit}"
        if self.direction == "at least" and value < self.threshold:
            return f"{value:g}{unit} < {self.threshold:g}{unit}"
        return None

    @property
    def goal(self) -> str:
        """`≤ 10 s`, or "" without a threshold."""
        if self.threshold is None:
            return ""
        sign = "≤" if self.direction == "at most" else "≥"
        return f"{sign} {self.threshold:g} {self.unit}".strip()


@dataclass(frozen=True)
class Promise:
    """One promise, what the drawing says, and which tests and figures back it."""

    key: str
    source: Source
    title: str
    drawing: str
    tests: tuple[str, ...]
    figures: tuple[Figure, ...] = ()
    pending: tuple[str, ...] = ()
    #: The modes in which a CI run must show this promise passed (the gate's rule), and why
    #: a mode left out cannot verify it.
    verify_in: tuple[Mode, ...] = MODES
    why_not: str = ""
    #: What the tests under a name talk to, by that name (the promises file's
    #: `verified_against`): the report's "verified against" column.
    verified_against: tuple[tuple[str, str], ...] = ()

    @property
    def prefixes(self) -> tuple[str, ...]:
        """Every test name the promise claims, existing or pending."""
        return self.tests + self.pending

    def against(self, prefix: str) -> str:
        """What the tests a claim names talk to: the longest `verified_against` name the claim
        lies under (a folder it starts with, or a module it names or lies in); "—" for none."""
        under = [(name, text) for name, text in self.verified_against if lies_under(prefix, name)]
        return max(under, key=lambda pair: len(pair[0]))[1] if under else "—"


def lies_under(prefix: str, name: str) -> bool:
    """Whether a claimed test name lies under another: in its folder (`dir/`), or the same module
    or one of its tests (`dir/test_x.py`, `package.module`)."""
    if name.endswith("/"):
        return prefix.startswith(name)
    return prefix == name or prefix.startswith(name + "::")


def figure(entry: FigureEntry) -> Figure:
    """A figure of the promises file, with its SLO's threshold when it is bound to one."""
    threshold = entry.slo.at_most if entry.slo is not None else None
    return Figure(entry.label, entry.pattern, entry.unit, threshold)


def promise_of(entry: PromiseEntry, verified_against: tuple[tuple[str, str], ...] = ()) -> Promise:
    """A promise of the promises file (the loader has checked its source and modes)."""
    return Promise(
        key=entry.key,
        source=cast(Source, entry.source),
        title=entry.title,
        drawing=entry.drawing,
        tests=entry.tests,
        figures=tuple(figure(f) for f in entry.figures),
        pending=entry.pending,
        verify_in=MODES if entry.verify_in is None else cast("tuple[Mode, ...]", entry.verify_in),
        why_not=entry.why_not,
        verified_against=verified_against,
    )


def promises_of(drawing: Drawing) -> tuple[Promise, ...]:
    """The matrix's rows of a drawing: the promises of the file it names (none without one)."""
    return tuple(promise_of(entry, drawing.verified_against) for entry in drawing.promises)
