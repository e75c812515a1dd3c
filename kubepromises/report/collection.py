"""Claims resolved against a run's collection (pure functions; the plugin raises their sentences).

A run's *scope* is what its arguments name (`tests/static`, a module, a module::test; with
`--pyargs`, a dotted module name). A claim inside the scope must name at least one collected test
(deselected ones count: they were collected); a claim outside it is simply "not part of this
run". A claim by dotted module name (`package.module::test_x`) is inside the scope when the run
names that module (or its package) with `--pyargs`, or names by path the file it is imported
from, when that file lies under the rootdir.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Final

from kubepromises.report.matrix import Promise
from kubepromises.report.status import claims

#: A dotted module name, optionally with a test: `package.module::test_x`.
DOTTED: Final = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*(::.*)?$")


def is_dotted(prefix: str) -> bool:
    """Whether a claim names tests by a dotted module name rather than by a path."""
    return (
        "/" not in prefix
        and not prefix.split("::", 1)[0].endswith(".py")
        and bool(DOTTED.match(prefix))
    )


def path_form(prefix: str, rootpath: Path) -> str:
    """A dotted claim as a path from the rootdir (`package/module.py::test_x`, a package as its
    folder `package/`) when its module is found under the rootdir; any other claim unchanged."""
    if not is_dotted(prefix):
        return prefix
    module, sep, rest = prefix.partition("::")
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return prefix
    if spec is None or spec.origin is None:
        return prefix
    origin = Path(spec.origin).resolve()
    package = spec.submodule_search_locations is not None
    try:
        relative = (origin.parent if package else origin).relative_to(rootpath.resolve())
    except ValueError:
        return prefix
    return relative.as_posix() + "/" if package else relative.as_posix() + sep + rest


def run_scope(
    args: Iterable[str], invocation_dir: Path, rootpath: Path, *, pyargs: bool = False
) -> tuple[str, ...]:
    """The arguments as node-id prefixes from the rootdir: `tests/static/`, `tests/a/test_x.py`,
    `tests/a/test_x.py::test_y`, or `` for the whole rootdir; with `pyargs`, a dotted module name
    that is no path stays as it is, beside its path form."""
    scope = []
    for arg in args:
        path, sep, rest = arg.partition("::")
        target = (invocation_dir / path).resolve()
        if pyargs and not target.exists() and is_dotted(arg):
            scope.append(arg)
            located = path_form(arg, rootpath)
            if located != arg:
                scope.append(located)
            continue
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
            if prefix.startswith(covered) and not (covered == "" and is_dotted(prefix)):
                return True
        elif prefix == covered or claims(covered, prefix.split("[", 1)[0]):
            return True
        elif is_dotted(covered) and is_dotted(prefix) and prefix.startswith(covered + "."):
            return True  # a package named with --pyargs covers its modules
    return False


def claim_partly_in_scope(prefix: str, scope: Iterable[str]) -> bool:
    """Whether the arguments name only a part of the claim (a module of a claimed folder, a
    test of a claimed module): the rest of it is not collected, so it is not run."""
    if claim_in_scope(prefix, scope):
        return False
    return any(claims(prefix, covered.split("[", 1)[0]) for covered in scope)


def forms(prefix: str, rootpath: Path | None) -> tuple[str, ...]:
    """The claim, and its path form when it is dotted and lies under the rootdir."""
    located = path_form(prefix, rootpath) if rootpath is not None else prefix
    return (prefix,) if located == prefix else (prefix, located)


def _files(scope: Sequence[str]) -> list[str]:
    """The scope's modules and tests: a folder or the rootdir collects only the files its
    name patterns match, which a package's modules need not."""
    return [s for s in scope if s and not s.endswith("/")]


def covered(prefix: str, scope: Sequence[str], rootpath: Path | None = None) -> bool:
    """Whether the run's arguments cover the claim whole: by its name, or a dotted claim by
    the file its module is, named as a file."""
    if claim_in_scope(prefix, scope):
        return True
    return any(claim_in_scope(form, _files(scope)) for form in forms(prefix, rootpath)[1:])


def partly_covered(prefix: str, scope: Sequence[str], rootpath: Path | None = None) -> bool:
    """Whether the arguments name only a part of the claim, in either of its forms."""
    if covered(prefix, scope, rootpath):
        return False
    if claim_partly_in_scope(prefix, scope):
        return True
    return any(claim_partly_in_scope(form, _files(scope)) for form in forms(prefix, rootpath)[1:])


def partial_claims(
    promises: Iterable[Promise], scope: Sequence[str], rootpath: Path | None = None
) -> set[str]:
    """The claimed prefixes this run's arguments cover only in part."""
    return {p for promise in promises for p in promise.tests if partly_covered(p, scope, rootpath)}


def complete_claims(
    promises: Iterable[Promise], scope: Sequence[str], rootpath: Path | None = None
) -> set[str]:
    """The claimed prefixes this run's arguments cover whole."""
    return {p for promise in promises for p in promise.tests if covered(p, scope, rootpath)}


def unresolved_claims(
    promises: Sequence[Promise],
    collected: Iterable[str],
    scope: Sequence[str],
    broken: Iterable[str] = (),
    rootpath: Path | None = None,
) -> list[str]:
    """One sentence per claim in the run's scope that names no collected test (`collected`:
    their node ids and their ids by module name). `broken` are node ids whose collection failed
    or was skipped whole: a claim into them is failed or not verified, not misnamed."""
    nodeids = list(collected)
    broken = list(broken)
    problems = []
    for promise in promises:
        for prefix in promise.tests:
            if not covered(prefix, scope, rootpath):
                continue
            if any(claims(prefix, n) for n in nodeids):
                continue
            if any(
                form.startswith(b) or claims(form, b)
                for form in forms(prefix, rootpath)
                for b in broken
            ):
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
