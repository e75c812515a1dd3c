"""When a pytest run brings up the testbed by itself: the rule behind `pytest suites/resilience`.

A run that names live suites only (every path argument lies inside one of LIVE_SUITES) means
"run these against the cluster", so it behaves as with `--cluster`. Every other run — `pytest`
with no arguments (testpaths), a fast suite, a mix of fast and live paths, `-k`/`-m` alone —
starts no cluster; `--cluster` and `--no-cluster` always win.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from testbed.settings import REPO

#: The suite folders whose tests need the live testbed (marked `cluster`). A fast test checks
#: this list against the folders that hold `cluster`-marked tests.
LIVE_SUITES = ("smoke", "conformance", "resilience", "observability", "load", "campaign_live")
SUITES = REPO / "suites"


def live_suite_of(arg: str, invocation_dir: Path) -> str | None:
    """The live suite a path argument (a file, folder or node id) lies in, or None."""
    path = Path(arg.split("::", 1)[0])
    resolved = (path if path.is_absolute() else invocation_dir / path).resolve()
    try:
        relative = resolved.relative_to(SUITES)
    except ValueError:
        return None
    if not relative.parts or relative.parts[0] not in LIVE_SUITES:
        return None
    return relative.parts[0]


def names_live_suites_only(args: Sequence[str], invocation_dir: Path) -> bool:
    """True when there is at least one path argument and each lies inside a live suite.

    `args` are the command line's positional arguments (not testpaths: with none, pytest runs
    every suite, and the fast ones must not wait for a cluster).
    """
    return bool(args) and all(live_suite_of(arg, invocation_dir) for arg in args)


def wants_cluster(
    *, cluster: bool, no_cluster: bool, args: Sequence[str], invocation_dir: Path
) -> bool:
    """Whether this run brings up (or reuses) the testbed: --cluster, --no-cluster, or the rule."""
    if cluster and no_cluster:
        raise ValueError("--cluster and --no-cluster contradict each other: give one")
    if cluster or no_cluster:
        return cluster
    return names_live_suites_only(args, invocation_dir)


def deletes_at_end(*, found: bool, keep: bool) -> bool:
    """Whether a run deletes the testbed when it ends: only one it created itself, and not with
    `--keep-cluster`. A cluster the run found (reused, or attached with `--testbed-reuse`) is
    someone's: deleting it at the end of, say, `pytest suites/resilience/test_x.py` took the
    cluster from under another run on 2 Dec 2026."""
    return not found and not keep
