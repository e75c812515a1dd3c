"""From test outcomes and measured figures to a verdict per promise (no pytest needed here)."""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal

from suites.matrix import Figure, Promise

Verdict = Literal["passed", "failed", "partly verified", "not verified"]
VERDICTS: Final[tuple[Verdict, ...]] = ("failed", "not verified", "partly verified", "passed")

#: A test's outcome in one session; "not run" is what a claimed prefix without tests shows.
Outcome = Literal["passed", "xpassed", "failed", "skipped", "xfailed", "not run"]
_SEVERITY: Final[dict[Outcome, int]] = {
    "passed": 0,
    "xpassed": 0,
    "skipped": 1,
    "xfailed": 1,
    "not run": 1,
    "failed": 2,
}
FIGURE_TEXT_LIMIT: Final = 240


def phase_outcome(when: str, outcome: str, xfail: bool) -> Outcome | None:
    """What one phase's report (setup, call, teardown) says about the test; None: nothing."""
    if outcome == "failed":
        return "failed"
    if outcome == "skipped":
        return "xfailed" if xfail else "skipped"
    if when == "call":
        return "xpassed" if xfail else "passed"
    return None


def merge(previous: Outcome | None, new: Outcome | None) -> Outcome | None:
    """The worse of two outcomes of one test (a teardown error fails a passed test)."""
    if new is None:
        return previous
    if previous is None or _SEVERITY[new] >= _SEVERITY[previous]:
        return new
    return previous


def verdict_of(outcome: Outcome) -> Literal["passed", "failed", "not verified"]:
    """Skipped, expected-to-fail and not run tests verify nothing; an unexpected pass does."""
    if outcome in ("passed", "xpassed"):
        return "passed"
    if outcome == "failed":
        return "failed"
    return "not verified"


def claims(prefix: str, nodeid: str) -> bool:
    """Whether a node-id prefix (folder/, module, module::test) names this test."""
    if prefix.endswith("/"):
        return nodeid.startswith(prefix)
    return nodeid == prefix or any(nodeid.startswith(prefix + sep) for sep in ("::", "["))


@dataclass(frozen=True)
class Result:
    """One test of this session and how it ended."""

    nodeid: str
    outcome: Outcome


@dataclass(frozen=True)
class Claim:
    """One prefix of a promise and the session's tests under it (none: not run)."""

    prefix: str
    results: tuple[Result, ...]

    @property
    def verdict(self) -> Literal["passed", "failed", "not verified"]:
        """Failed if any failed; passed only if every test under it ran and passed."""
        if not self.results:
            return "not verified"
        verdicts = {verdict_of(r.outcome) for r in self.results}
        if "failed" in verdicts:
            return "failed"
        return "not verified" if "not verified" in verdicts else "passed"

    def counts(self) -> dict[Outcome, int]:
        """How many tests under the prefix ended each way."""
        tally: dict[Outcome, int] = {}
        for result in self.results:
            tally[result.outcome] = tally.get(result.outcome, 0) + 1
        return tally


@dataclass(frozen=True)
class FigureValue:
    """A figure found in measurements.json; fresh when this session wrote or changed it."""

    label: str
    key: str
    instance: str
    text: str
    fresh: bool


@dataclass(frozen=True)
class PromiseResult:
    """A promise with its claims judged and its figures looked up."""

    promise: Promise
    claims: tuple[Claim, ...]
    figures: tuple[FigureValue, ...]

    @property
    def verdict(self) -> Verdict:
        """Failed beats everything; passed needs every claimed test run and passed."""
        verdicts = [c.verdict for c in self.claims]
        if "failed" in verdicts:
            return "failed"
        if all(v == "passed" for v in verdicts):
            return "passed"
        if any(verdict_of(r.outcome) == "passed" for c in self.claims for r in c.results):
            return "partly verified"
        return "not verified"


def format_value(value: object, unit: str) -> str:
    """A figure as text: numbers with their unit, anything else shortened."""
    if isinstance(value, bool):
        text = str(value)
    elif isinstance(value, int | float):
        text = f"{value:g} {unit}".strip()
    elif isinstance(value, str):
        text = value
    else:
        text = json.dumps(value, sort_keys=True)
    if len(text) > FIGURE_TEXT_LIMIT:
        text = text[: FIGURE_TEXT_LIMIT - 1] + "…"
    return text


def find_figures(
    figures: Iterable[Figure], measurements: Mapping[str, object], fresh: set[str]
) -> tuple[FigureValue, ...]:
    """Every measurements.json entry a promise's figure patterns match."""
    found = []
    for figure in figures:
        stem = figure.pattern.split("*", 1)[0]
        for key in sorted(k for k in measurements if fnmatch.fnmatchcase(k, figure.pattern)):
            instance = key[len(stem) :] if "*" in figure.pattern else ""
            text = format_value(measurements[key], figure.unit)
            found.append(FigureValue(figure.label, key, instance, text, key in fresh))
    return tuple(found)


def judge(
    promise: Promise,
    results: Sequence[Result],
    measurements: Mapping[str, object],
    fresh: set[str],
) -> PromiseResult:
    """One promise against this session's results and the recorded figures."""
    claims_ = tuple(
        Claim(prefix, tuple(r for r in results if claims(prefix, r.nodeid)))
        for prefix in promise.prefixes
    )
    return PromiseResult(promise, claims_, find_figures(promise.figures, measurements, fresh))


def build(
    promises: Iterable[Promise],
    results: Sequence[Result],
    measurements: Mapping[str, object],
    fresh: set[str],
) -> list[PromiseResult]:
    """The whole matrix."""
    return [judge(p, results, measurements, fresh) for p in promises]


def changed_keys(before: Mapping[str, object], after: Mapping[str, object]) -> set[str]:
    """Keys written or changed between two readings of measurements.json."""
    return {k for k, v in after.items() if k not in before or before[k] != v}


def tally(matrix: Iterable[PromiseResult]) -> dict[Verdict, int]:
    """How many promises have each verdict (every verdict present, zero or not)."""
    counts: dict[Verdict, int] = dict.fromkeys(VERDICTS, 0)
    for result in matrix:
        counts[result.verdict] += 1
    return counts
