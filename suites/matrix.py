"""The promise matrix: each promise of the drawing, the tests that check it, its measured figures.

The table is data: ``promises.yaml`` (which ``drawing.yaml`` names, read and checked with it by
kubepromises) is the only place that says which test checks which promise. This module builds
the report's `Promise` and `Figure` values from it. Tests are named by node-id prefixes relative
to the repository root (a module, a folder ending in ``/``, or a module and a test function);
test files need no markers. ``pending`` prefixes name suites that may not exist yet: they count
as "not run" until they do. Figures name keys of ``reports/measurements.json`` (``fnmatch``
patterns; ``*`` stands for the instance, e.g. the service), and a figure bound to one of the
drawing's SLOs carries its threshold. ``suites/reporting_tests/test_matrix_table.py`` keeps the
table honest, and ``docs/CHECKLIST.md`` is generated from it
(``python -m suites.reporting.checklist``).

Every claimed prefix is resolved against the run's collection (a claim into a collected folder
that names no test stops the run); a figure may carry its threshold (an SLO), which this run's
value must keep; each promise says in which testbed modes CI must see it fully verified; and
``VERIFIED_AGAINST`` says what each suite's tests talk to. A test against a fake (marked
``@pytest.mark.fake("kibana")``) never backs a verdict.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal, cast

from kubepromises.drawing import FigureEntry, PromiseEntry
from suites import promises

#: The boxes of the drawing a promise comes from (promises.schema.json's `source`).
Source = Literal["key features", "deployment summary", "external access", "data flow", "behaviour"]
#: The testbed's modes (promises.schema.json's `mode`): online (upstream images pulled) and
#: offline (air-gapped builds).
Mode = Literal["offline", "online"]
MODES: Final[tuple[Mode, ...]] = ("offline", "online")
Direction = Literal["at most", "at least"]


@dataclass(frozen=True)
class Figure:
    """A measured figure a promise shows: a label, a measurements.json key pattern, a unit, and
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

    @property
    def prefixes(self) -> tuple[str, ...]:
        """Every node-id prefix the promise claims, existing or pending."""
        return self.tests + self.pending


def figure(entry: FigureEntry) -> Figure:
    """A figure of the promises file, with its SLO's threshold when it is bound to one."""
    threshold = entry.slo.at_most if entry.slo is not None else None
    return Figure(entry.label, entry.pattern, entry.unit, threshold)


def promise_of(entry: PromiseEntry) -> Promise:
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
    )


PROMISES: Final = tuple(promise_of(entry) for entry in promises.DRAWING.promises)

_TESTBED = (
    "the kind testbed: upstream images online; offline, stand-ins FerretDB (MongoDB), moto "
    "(LocalStack's SQS), OpenSearch (Elasticsearch), rsyslog (Logstash), and no Kibana"
)
#: What each suite's tests talk to (the report's "verified against" column). A test module
#: that runs a fake of its own says so with ``@pytest.mark.fake("<component>")``.
VERIFIED_AGAINST: Final[dict[str, str]] = {
    "suites/static/": "the rendered manifests (nothing runs)",
    "suites/system/": (
        "local processes: real PostgreSQL and Redis; stand-ins FerretDB (MongoDB) and moto "
        "(LocalStack's SQS)"
    ),
    "suites/testbed/": "the testbed's own code",
    "suites/campaign/": (
        "local processes: real PostgreSQL and Redis; stand-ins FerretDB (MongoDB) and moto "
        "(LocalStack's SQS)"
    ),
    "suites/smoke/": _TESTBED,
    "suites/conformance/": _TESTBED,
    "suites/resilience/": _TESTBED,
    "suites/observability/": _TESTBED,
    "suites/load/": _TESTBED + "; or the local processes (-m 'not cluster')",
}

#: Folders whose every test module some promise must claim (the fast table check).
CLAIMED_FOLDERS: Final = (
    "suites/static",
    "suites/smoke",
    "suites/conformance",
    "suites/resilience",
    "suites/observability",
    "suites/load",
)


def promise(key: str) -> Promise:
    """A promise by key."""
    return next(p for p in PROMISES if p.key == key)
