"""docs/CHECKLIST.md from the promise matrix: ``python -m suites.reporting.checklist [--check]``."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from kubepromises.report.matrix import Promise, Source
from suites.matrix import PROMISES
from suites.promises import REPO_ROOT

CHECKLIST: Final = REPO_ROOT / "docs" / "CHECKLIST.md"
SECTIONS: Final[dict[Source, str]] = {
    "key features": "Key features",
    "deployment summary": "Deployment summary",
    "external access": "External access",
    "data flow": "Data flow and supporting services",
    "behaviour": "Behaviours the suites check beyond the drawing",
}
LEVELS: Final = {
    "suites/static/": "manifests",
    "suites/system/": "services",
    "suites/smoke/": "live",
    "suites/conformance/": "live",
    "suites/resilience/": "live",
    "suites/observability/": "live",
    "suites/load/": "load",
}

HEADER: Final = """\
# Checklist: the drawing → the tests

Generated from `promises.yaml` by `python -m suites.reporting.checklist` (a fast test fails
when this file and the table disagree). Each promise of the architecture drawing, the tests
that check it and the figures the report shows beside it. *manifests*: the rendered manifests,
checked statically (`pytest suites/static`); *services*: the four services against real
PostgreSQL, Redis, FerretDB and moto processes (`pytest suites/system`); *live*: against the
kind testbed (`tox -e e2e`). *Pending* suites are being written; until they exist, their part
of the promise shows as "not run" in the report.

Which promises a run verified is in that run's report: the promise matrix at the top of
`reports/<env>/report.html`, and `reports/<env>/promises.json`; CI merges its runs into
`reports/ci/` and gates on it. A figure with a goal fails its promise when this run measured it
beyond the goal. *CI must pass it*: the testbed modes (offline, online) in which the gate
(`python -m suites.reporting.gate`) requires the promise passed, and why a mode cannot.
"""


def level(prefix: str) -> str:
    """manifests, services, live or load, by the prefix's folder."""
    return next((name for folder, name in LEVELS.items() if prefix.startswith(folder)), "other")


def row(promise: Promise) -> str:
    tests = [f"`{p}` ({level(p)})" for p in promise.tests]
    tests += [f"`{p}` ({level(p)}, pending)" for p in promise.pending]
    figures = (
        "<br>".join(
            f"{f.label} (`{f.pattern}`{', goal ' + f.goal if f.goal else ''})"
            for f in promise.figures
        )
        or "—"
    )
    modes = ", ".join(promise.verify_in) or "none"
    if promise.why_not:
        modes += f" ({promise.why_not})"
    return f"| {promise.title} | {promise.drawing} | {'<br>'.join(tests)} | {figures} | {modes} |"


def render(promises: Sequence[Promise] = PROMISES) -> str:
    """The whole checklist as Markdown."""
    parts = [HEADER]
    for source, heading in SECTIONS.items():
        chosen = [p for p in promises if p.source == source]
        if not chosen:
            continue
        parts.append(f"## {heading}\n")
        parts.append("| promise | the drawing says | checked by | measured | CI must pass it |")
        parts.append("| --- | --- | --- | --- | --- |")
        parts.extend(row(p) for p in chosen)
        parts.append("")
    return "\n".join(parts)


def main(argv: Sequence[str]) -> int:
    """Write docs/CHECKLIST.md, or with --check say whether it is up to date."""
    text = render()
    path = Path(CHECKLIST)
    if "--check" in argv:
        if path.exists() and path.read_text() == text:
            return 0
        print(f"{path} is out of date: run python -m suites.reporting.checklist", file=sys.stderr)
        return 1
    path.write_text(text)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
