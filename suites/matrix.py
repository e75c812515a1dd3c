"""This system's promise matrix: its rows read from `promises.yaml`, and the suites it covers.

``promises.yaml`` (which ``drawing.yaml`` names, read and checked with it by kubepromises) is the
only place that says which test checks which promise and what each suite's tests talk to (its
``verified_against``); ``kubepromises.report`` builds and judges the matrix from it, in every
pytest run of this repository (the package's plugin reads the rootdir's drawing). This module
gives the same rows to the CLIs that work on a run's ``promises.json`` (``python -m
suites.reporting.merge``, ``gate``) and to ``docs/CHECKLIST.md``
(``python -m suites.reporting.checklist``); ``suites/reporting_tests/test_matrix_table.py``
keeps the table honest.
"""

from __future__ import annotations

from typing import Final

from kubepromises.report.matrix import Promise, promises_of
from suites import promises

PROMISES: Final = promises_of(promises.DRAWING)

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
