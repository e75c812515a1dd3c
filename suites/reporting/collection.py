"""Claims resolved against a run's collection (pure functions; the plugin raises their sentences).

A run's *scope* is what its arguments name (`suites/static`, a module, a module::test). A claim
inside the scope must name at least one collected test (deselected ones count: they were
collected); a claim outside it is simply "not part of this run".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from suites.matrix import Promise
from suites.reporting.status import claims


def run_scope(args: Iterable[str], invocation_dir: Path, rootpath: Path) -> tuple[str, ...]:
    """The arguments as node-id prefixes from the rootdir: `suites/static/`, `suites/a/test_x.py`,
    `suites/a/test_x.py::test_y`, or `` for the whole rootdir."""
    scope = []
    for arg in args:
        path, sep, rest = arg.partition("::")
        target = (invocation_dir / path).resolve()
        try:
            relative = target.relative_to(rootpath.resolve()).as_posix()
        except ValueError:
            continue  # outside the rootdir: no claim can be under it
        if target.is_dir():
            scope.append("" if relative == "." else relative + "/")
        else:
            scope.append(relative + sep + rest)
    return tuple(scope)


def claim_in_scope(prefix: str, scope: Iterable[str]) -> bool:
    """Whether the run's arguments cover everything the claim names."""
    for covered in scope:
        if covered == "" or covered.endswith("/"):
            if prefix.startswith(covered):
                return True
        elif prefix == covered or claims(covered, prefix.split("[", 1)[0]):
            return True
    return False


def claim_partly_in_scope(prefix: str, scope: Iterable[str]) -> bool:
    """Whether the arguments name only a part of the claim (a module of a claimed folder, a
    test of a claimed module): the rest of it is not collected, so it is not run."""
    if claim_in_scope(prefix, scope):
        return False
    return any(claims(prefix, covered.split("[", 1)[0]) for covered in scope)


def partial_claims(promises: Iterable[Promise], scope: Sequence[str]) -> set[str]:
    """The claimed prefixes this run's arguments cover only in part."""
    return {p for promise in promises for p in promise.tests if claim_partly_in_scope(p, scope)}


def complete_claims(promises: Iterable[Promise], scope: Sequence[str]) -> set[str]:
    """The claimed prefixes this run's arguments cover whole."""
    return {p for promise in promises for p in promise.tests if claim_in_scope(p, scope)}


def unresolved_claims(
    promises: Sequence[Promise],
    collected: Iterable[str],
    scope: Sequence[str],
    broken: Iterable[str] = (),
) -> list[str]:
    """One sentence per claim in the run's scope that names no collected test. `broken` are
    node ids whose collection failed or was skipped whole: a claim into them is failed or not
    verified, not misnamed."""
    nodeids = list(collected)
    broken = list(broken)
    problems = []
    for promise in promises:
        for prefix in promise.tests:
            if not claim_in_scope(prefix, scope):
                continue
            if any(claims(prefix, n) for n in nodeids):
                continue
            if any(prefix.startswith(b) or claims(prefix, b) for b in broken):
                continue
            problems.append(
                f"promise {promise.key!r} claims {prefix}, which names no test this run "
                f"collected from {', '.join(s or '.' for s in scope)}"
            )
    return problems


def promises_without_claims(promises: Iterable[Promise]) -> list[str]:
    """A promise that claims no test would pass with nothing checked."""
    return [
        f"promise {p.key!r} claims no test: name the tests that check it"
        for p in promises
        if not p.tests
    ]
