"""From test outcomes and measured figures to a verdict per promise (no pytest needed here)."""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal

from kubepromises.report.matrix import Figure, Promise

Verdict = Literal["passed", "failed", "partly verified", "not verified"]
VERDICTS: Final[tuple[Verdict, ...]] = ("failed", "not verified", "partly verified", "passed")

#: A test's outcome in one session: "deselected" (by -k, -m, --deselect) and "not run"
#: (collected, but the session ended first) verify nothing, like a skip.
Outcome = Literal["passed", "xpassed", "failed", "skipped", "xfailed", "deselected", "not run"]
OUTCOMES: Final[tuple[Outcome, ...]] = (
    "passed",
    "xpassed",
    "failed",
    "skipped",
    "xfailed",
    "deselected",
    "not run",
)
_SEVERITY: Final[dict[Outcome, int]] = {
    "passed": 0,
    "xpassed": 0,
    "skipped": 1,
    "xfailed": 1,
    "deselected": 1,
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


def across_runs(first: Outcome, second: Outcome) -> Outcome:
    """One test's outcome over several runs (CI's envs): a failure anywhere fails it, a pass
    anywhere else verifies it (the fast env skips what the e2e env runs), else the first."""
    wanted: tuple[Outcome, ...] = ("failed", "passed", "xpassed")
    return next((o for o in wanted if o in (first, second)), first)


def claims(prefix: str, nodeid: str) -> bool:
    """Whether a node-id prefix (folder/, module, module::test) names this test."""
    if prefix.endswith("/"):
        return nodeid.startswith(prefix)
    return nodeid == prefix or any(nodeid.startswith(prefix + sep) for sep in ("::", "["))


def module_id(nodeid: str, module_nodeid: str, module_name: str) -> str:
    """A test's id by the dotted name of the module it was collected from:
    `package.module::test_x[a]` for `../site-packages/package/module.py::test_x[a]`."""
    if not module_name or not nodeid.startswith(module_nodeid):
        return ""
    return module_name + nodeid[len(module_nodeid) :]


@dataclass(frozen=True)
class Result:
    """One test of this session and how it ended; `fake` names the component a fake stood in
    for (``@pytest.mark.fake("dashboard")``): such a test can fail a promise, never verify one.
    `module` is its id by its module's dotted name (`module_id`), which a claim may name it by
    ("": not collected from a Python module)."""

    nodeid: str
    outcome: Outcome
    fake: str = ""
    module: str = ""

    def named_by(self, prefix: str) -> bool:
        """Whether a claim names this test, by path or by its module's dotted name."""
        return claims(prefix, self.nodeid) or bool(self.module and claims(prefix, self.module))

    @property
    def verdict(self) -> Literal["passed", "failed", "not verified"]:
        judged = verdict_of(self.outcome)
        return "not verified" if judged == "passed" and self.fake else judged

    @property
    def label(self) -> str:
        """`passed`, or `passed against a fake dashboard`."""
        return f"{self.outcome} against a fake {self.fake}" if self.fake else self.outcome


@dataclass(frozen=True)
class Claim:
    """One prefix of a promise and the session's tests under it (none: not run)."""

    prefix: str
    results: tuple[Result, ...]
    #: The run's arguments named only part of it (`pytest tests/load/test_mixed.py` for a
    #: claim on `tests/load/`): the rest was never collected, so it cannot be passed.
    partial: bool = False
    #: What its tests talk to (the promises file's `verified_against`), "—" when it says not.
    against: str = "—"

    @property
    def only_fakes(self) -> bool:
        """Every test under the prefix talks to a fake: the claim is shown, never counted."""
        return bool(self.results) and all(r.fake for r in self.results)

    @property
    def verdict(self) -> Literal["passed", "failed", "not verified"]:
        """Failed if any failed; passed only if every test under it ran, passed, and talked to
        real components or stand-ins (a test against a fake verifies nothing)."""
        if not self.results:
            return "not verified"
        verdicts = {r.verdict for r in self.results}
        if "failed" in verdicts:
            return "failed"
        return "not verified" if "not verified" in verdicts or self.partial else "passed"

    def counts(self) -> dict[str, int]:
        """How many tests under the prefix ended each way."""
        tally: dict[str, int] = {}
        for result in self.results:
            tally[result.label] = tally.get(result.label, 0) + 1
        return tally

    @property
    def fakes(self) -> tuple[str, ...]:
        """The components faked by tests under the prefix."""
        return tuple(sorted({r.fake for r in self.results if r.fake}))


@dataclass(frozen=True)
class FigureValue:
    """A figure found in measurements.json; fresh when this session wrote or changed it."""

    label: str
    key: str
    instance: str
    text: str
    fresh: bool
    value: object = None
    goal: str = ""
    #: `12.3 s > 10 s` when the value breaks the figure's threshold.
    violation: str | None = None

    @property
    def fails(self) -> bool:
        """Only a figure this run measured can fail a promise; an earlier one is history."""
        return self.fresh and self.violation is not None


@dataclass(frozen=True)
class PromiseResult:
    """A promise with its claims judged and its figures looked up."""

    promise: Promise
    claims: tuple[Claim, ...]
    figures: tuple[FigureValue, ...]

    @property
    def verdict(self) -> Verdict:
        """Failed beats everything (a failed test, or a figure of this run over its threshold);
        passed needs every claimed test run and passed against real components or stand-ins.
        A claim whose tests all talk to a fake is left out: it neither verifies nor blocks."""
        verdicts = [c.verdict for c in self.claims]
        if "failed" in verdicts or any(f.fails for f in self.figures):
            return "failed"
        counted = [c.verdict for c in self.claims if not c.only_fakes]
        if counted and all(v == "passed" for v in counted):
            return "passed"
        if any(r.verdict == "passed" for c in self.claims for r in c.results):
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
            value = measurements[key]
            text = format_value(value, figure.unit)
            found.append(
                FigureValue(
                    figure.label,
                    key,
                    instance,
                    text,
                    key in fresh,
                    value,
                    figure.goal,
                    figure.violation(value),
                )
            )
    return tuple(found)


def judge(
    promise: Promise,
    results: Sequence[Result],
    measurements: Mapping[str, object],
    fresh: set[str],
    partial: Collection[str] = (),
) -> PromiseResult:
    """One promise against this session's results and the recorded figures; `partial` names
    the claimed prefixes the run's arguments covered only in part."""
    claims_ = tuple(
        Claim(
            prefix,
            tuple(r for r in results if r.named_by(prefix)),
            prefix in partial,
            promise.against(prefix),
        )
        for prefix in promise.prefixes
    )
    return PromiseResult(promise, claims_, find_figures(promise.figures, measurements, fresh))


def build(
    promises: Iterable[Promise],
    results: Sequence[Result],
    measurements: Mapping[str, object],
    fresh: set[str],
    partial: Collection[str] = (),
) -> list[PromiseResult]:
    """The whole matrix."""
    return [judge(p, results, measurements, fresh, partial) for p in promises]


def changed_keys(before: Mapping[str, object], after: Mapping[str, object]) -> set[str]:
    """Keys written or changed between two readings of measurements.json."""
    return {k for k, v in after.items() if k not in before or before[k] != v}


def tally(matrix: Iterable[PromiseResult]) -> dict[Verdict, int]:
    """How many promises have each verdict (every verdict present, zero or not)."""
    counts: dict[Verdict, int] = dict.fromkeys(VERDICTS, 0)
    for result in matrix:
        counts[result.verdict] += 1
    return counts
