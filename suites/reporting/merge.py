"""One promise matrix for a whole CI run, from the runs' promises.json files.

``python -m suites.reporting.merge reports/fast reports/e2e reports/load -o reports/ci`` writes
``reports/ci/promises.json`` and ``reports/ci/report.html`` and prints the matrix. A test's
outcomes over the runs combine as `across_runs` says (a failure anywhere fails it; a pass in one
run verifies what another skipped); a figure is fresh when any run measured it. The verdicts
are judged again with the current table (`promises.yaml`, read by `suites/matrix.py`), so
thresholds and claims are the ones of this checkout.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Final, cast

from kubepromises.report import render
from kubepromises.report.matrix import Promise
from kubepromises.report.status import (
    OUTCOMES,
    Outcome,
    PromiseResult,
    Result,
    across_runs,
    build,
)
from suites.matrix import PROMISES

#: How an older promises.json (claims only, no "tests") labels a test against a fake.
_FAKE_LABEL: Final = re.compile(r"^(?P<outcome>.+) against a fake (?P<fake>.+)$")


@dataclass
class Runs:
    """What several runs saw, combined."""

    results: dict[str, Result] = field(default_factory=dict)
    measurements: dict[str, object] = field(default_factory=dict)
    fresh: set[str] = field(default_factory=set)
    #: Claimed prefixes some run's arguments covered in part, and those some run covered whole.
    in_part: set[str] = field(default_factory=set)
    whole: set[str] = field(default_factory=set)
    modes: set[str] = field(default_factory=set)
    sources: list[str] = field(default_factory=list)

    def add_result(self, nodeid: str, outcome: Outcome, fake: str, module: str = "") -> None:
        seen = self.results.get(nodeid)
        if seen is not None:
            outcome = across_runs(seen.outcome, outcome)
            fake = fake or seen.fake
            module = module or seen.module
        self.results[nodeid] = Result(nodeid, outcome, fake, module)


def outcome_of(label: object) -> tuple[Outcome, str]:
    """An outcome and its fake from a label (`passed`, `passed against a fake kibana`)."""
    text = str(label)
    fake = ""
    matched = _FAKE_LABEL.match(text)
    if matched:
        text, fake = matched["outcome"], matched["fake"]
    if text not in OUTCOMES:
        raise ValueError(f"unknown outcome {label!r}")
    return text, fake


def add_run(runs: Runs, document: Mapping[str, object], source: str) -> None:
    """One run's promises.json into the combination."""
    runs.sources.append(source)
    tests = document.get("tests")
    if isinstance(tests, dict):
        for nodeid, entry in tests.items():
            outcome, _ = outcome_of(entry["outcome"])
            runs.add_result(nodeid, outcome, str(entry.get("fake", "")), entry.get("module", ""))
    promises = document.get("promises", [])
    assert isinstance(promises, list), f"{source}: no promises list"
    for promise in promises:
        if not isinstance(tests, dict):  # an older file: the claimed tests only
            for claim in promise["claims"]:
                for nodeid, label in claim["tests"].items():
                    runs.add_result(nodeid, *outcome_of(label))
        runs.fresh.update(f["key"] for f in promise.get("figures", []) if f.get("fresh"))
    measurements = document.get("measurements")
    if isinstance(measurements, dict):
        runs.measurements.update(measurements)
    runs.fresh.update(str(k) for k in cast(Iterable[object], document.get("fresh", [])))
    runs.modes.update(str(m) for m in cast(Iterable[object], document.get("modes", [])))
    runs.in_part.update(str(k) for k in cast(Iterable[object], document.get("claims_in_part", [])))
    runs.whole.update(str(k) for k in cast(Iterable[object], document.get("claims_whole", [])))


def merged(runs: Runs, promises: Sequence[Promise] | None = None) -> list[PromiseResult]:
    """The matrix of the combined runs (by default judged with the current table)."""
    table = PROMISES if promises is None else promises
    partial = runs.in_part - runs.whole  # a claim one run covered whole is whole
    return build(table, list(runs.results.values()), runs.measurements, runs.fresh, partial)


def page(matrix: Sequence[PromiseResult], sources: Sequence[str]) -> str:
    """A self-contained HTML page holding the merged matrix."""
    merged_from = ", ".join(f"<code>{escape(s)}</code>" for s in sources)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        "<title>Promise matrix of the CI run</title></head><body>"
        f"{render.html(matrix)}<p><small>Merged from {merged_from}.</small></p></body></html>\n"
    )


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m suites.reporting.merge", description=__doc__.split("\n\n", 1)[0]
    )
    parser.add_argument("runs", nargs="+", type=Path, help="report folders with promises.json")
    parser.add_argument("-o", "--output", type=Path, required=True, help="folder to write")
    parser.add_argument(
        "--measurements",
        type=Path,
        help="a measurements.json to read the figures' values from (for promises.json files "
        "written before they carried them)",
    )
    args = parser.parse_args(argv)
    runs = Runs()
    if args.measurements is not None:
        runs.measurements.update(json.loads(args.measurements.read_text()))
    for folder in args.runs:
        path = folder / "promises.json"
        if not path.is_file():
            print(f"merge: {path} is missing (did that run happen?)", file=sys.stderr)
            return 2
        add_run(runs, json.loads(path.read_text()), str(path))
    matrix = merged(runs)
    results = sorted(runs.results.values(), key=lambda r: r.nodeid)
    document = render.as_json(matrix, results, runs.measurements, runs.fresh)
    document["merged_from"] = runs.sources
    document["modes"] = sorted(runs.modes)
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "promises.json").write_text(json.dumps(document, indent=2) + "\n")
    (args.output / "report.html").write_text(page(matrix, runs.sources))
    for line in render.text(matrix):
        print(line)
    print(f"  written to {args.output / 'promises.json'} and {args.output / 'report.html'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
