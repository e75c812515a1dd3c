"""The code explains itself: no comment or docstring points into the findings journal
(`docs/findings/`, "finding 17") or at a CI run by its commit ("CI of 0c30727"), in the Python
packages nor in the manifests, configs and scripts beside them."""

from __future__ import annotations

import os
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


#: The files besides Python that hold comments: manifests, configs, scripts, images.
OTHER_SUFFIXES = (".yaml", ".yml", ".sh", ".toml", ".ini", ".conf", ".js", ".sed", ".properties")
OTHER_NAMES = ("Dockerfile", "run")
#: Folders that are not the project's own text: the journal and docs themselves, and what tools
#: and runs leave behind.
NOT_CODE = {".git", ".tox", "build", "reports", "docs", "node_modules", "__pycache__"}


def other_files(root: Path) -> list[Path]:
    """The project's manifests, configs and scripts under `root`."""
    found = []
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(d for d in subfolders if d not in NOT_CODE and "cache" not in d)
        found += [
            Path(folder) / name
            for name in sorted(files)
            if name.endswith(OTHER_SUFFIXES) or name in OTHER_NAMES
        ]
    return found


def test_no_manifest_config_or_script_points_into_the_findings_journal() -> None:
    files = other_files(REPO_ROOT)
    assert REPO_ROOT / ".ci" / "run" in files
    assert REPO_ROOT / "testbed" / "kind" / "cluster.yaml" in files
    found = {
        str(path.relative_to(REPO_ROOT)): hits
        for path in files
        if (hits := pointers(path.read_text(errors="replace")))
    }
    assert found == {}


def test_negative_control_a_manifest_pointing_into_the_journal_is_found(tmp_path: Path) -> None:
    (tmp_path / "manifests").mkdir()
    (tmp_path / "manifests" / "db.yaml").write_text(
        "# crash recovery (docs/live-suites.md, finding 13)\n"
    )
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "journal.yaml").write_text("# finding 13\n")  # the journal may
    assert [p.relative_to(tmp_path) for p in other_files(tmp_path)] == [Path("manifests/db.yaml")]
    assert pointers((tmp_path / "manifests" / "db.yaml").read_text()) != []


def test_negative_control_a_pointer_of_each_kind_is_found() -> None:
    text = (
        "# a race (finding 17)\n# see docs/findings/README.md\n# or docs/findings.md\n"
        "# (CI of 0c30727)\n# fine: 17 kills\n"
    )
    assert len(pointers(text)) == 4
