"""CI's gate on the promise matrix, and its changes against an earlier run.

``python -m suites.reporting.gate reports/ci/promises.json [--mode offline] [--previous OLD.json]``
exits 1 when a promise failed, or when a promise the mode must verify (`verify_in` in
`promises.yaml`) is not passed. The mode defaults to the testbed's, as the runs recorded it.
It prints every change of verdict against the previous promises.json, a step down (✔ → ◐) as
a regression.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final, cast

from kubepromises.report.matrix import MODES
from kubepromises.verdicts import MARKS
from suites.matrix import PROMISES

#: Better verdicts rank higher; a change to a lower rank is a regression.
RANK: Final[dict[str, int]] = {
    "failed": 0,
    "not verified": 1,
    "partly verified": 2,
    "passed": 3,
}


def verdicts(document: Mapping[str, object]) -> dict[str, str]:
    """Each promise's verdict, by key."""
    promises = cast(list[dict[str, object]], document["promises"])
    return {str(p["key"]): str(p["verdict"]) for p in promises}


def shown(verdict: str) -> str:
    return f"{MARKS.get(verdict, '?')} {verdict}"


def violations(document: Mapping[str, object], mode: str) -> list[str]:
    """Why the matrix does not let CI pass in this mode (empty: it does)."""
    required_by_table = {p.key: p.verify_in for p in PROMISES}
    problems = []
    for promise in cast(list[dict[str, object]], document["promises"]):
        key, verdict = str(promise["key"]), str(promise["verdict"])
        verify_in = promise.get("verify_in", required_by_table.get(key, MODES))
        if verdict == "failed":
            problems.append(f"{key}: {shown(verdict)}")
        elif mode in cast(Sequence[str], verify_in) and verdict != "passed":
            problems.append(f"{key}: {shown(verdict)}, but the {mode} mode must verify it")
    return problems


def changes(previous: Mapping[str, object], current: Mapping[str, object]) -> list[str]:
    """Every promise whose verdict changed, appeared or disappeared, worst news first."""
    before, after = verdicts(previous), verdicts(current)
    lines = []
    for key in dict.fromkeys([*before, *after]):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if old is None:
            lines.append((1, f"new: {key} {shown(str(new))}"))
        elif new is None:
            lines.append((0, f"removed: {key} (was {shown(old)})"))
        elif RANK.get(new, 0) < RANK.get(old, 0):
            lines.append((0, f"regression: {key} {shown(old)} → {shown(new)}"))
        else:
            lines.append((2, f"improvement: {key} {shown(old)} → {shown(new)}"))
    return [text for _, text in sorted(lines, key=lambda pair: pair[0])]


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m suites.reporting.gate", description=__doc__.split("\n\n", 1)[0]
    )
    parser.add_argument("promises", type=Path, help="the (merged) promises.json")
    parser.add_argument(
        "--mode",
        choices=MODES,
        help="the testbed's mode (default: the one the runs recorded in promises.json)",
    )
    parser.add_argument("--previous", type=Path, help="an earlier run's promises.json")
    args = parser.parse_args(argv)
    document = json.loads(args.promises.read_text())
    recorded = cast(list[str], document.get("modes", []))
    mode = args.mode or (recorded[0] if len(recorded) == 1 else None)
    if mode is None:
        print(
            f"promise gate: the runs recorded {recorded or 'no'} testbed mode: pass --mode",
            file=sys.stderr,
        )
        return 2
    if args.previous is not None:
        if args.previous.is_file():
            found = changes(json.loads(args.previous.read_text()), document)
            print(f"changes against {args.previous}:")
            for line in found or ["none"]:
                print(f"  {line}")
        else:
            print(f"no earlier matrix at {args.previous}: no changes to show")
    problems = violations(document, mode)
    counts = ", ".join(f"{n} {v}" for v, n in cast(dict[str, int], document["counts"]).items())
    if problems:
        print(f"promise gate ({mode}): FAILED ({counts})")
        for problem in problems:
            print(f"  {problem}")
        return 1
    print(f"promise gate ({mode}): passed ({counts})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
