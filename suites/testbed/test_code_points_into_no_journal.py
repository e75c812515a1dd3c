"""The code explains itself: no comment or docstring points into the findings journal
(`docs/findings/`, "finding 17") or at a CI run by its commit ("CI of 0c30727")."""

from __future__ import annotations

import re
from pathlib import Path

from suites.promises import REPO_ROOT

PACKAGES = ("system", "testbed", "kubepromises", "suites")
POINTER = re.compile(r"\bfindings? \d+\b|docs/findings\b|\bCI of [0-9a-f]{7}\b", re.IGNORECASE)


def pointers(text: str) -> list[str]:
    """The lines of `text` that point into the journal."""
    return [line.strip() for line in text.splitlines() if POINTER.search(line)]


def test_no_python_file_points_into_the_findings_journal() -> None:
    found = {
        str(path.relative_to(REPO_ROOT)): hits
        for package in PACKAGES
        for path in sorted((REPO_ROOT / package).rglob("*.py"))
        if path != Path(__file__) and (hits := pointers(path.read_text()))
    }
    assert found == {}


def test_negative_control_a_pointer_of_each_kind_is_found() -> None:
    text = (
        "# a race (finding 17)\n# see docs/findings/README.md\n# or docs/findings.md\n"
        "# (CI of 0c30727)\n# fine: 17 kills\n"
    )
    assert len(pointers(text)) == 4
