"""Values of the drawing are written once (drawing.yaml); a second copy in the code is a bug
waiting to happen. Each value is searched for in every file of the repository except the docs
and the manifests (which must carry the values; suites/static checks them against the
drawing), and may appear only where the table says, with the reason.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from suites import promises

REPO = promises.REPO_ROOT

#: value → the files it may appear in, beside drawing.yaml.
ALLOWED: dict[str, dict[str, str]] = {
    promises.KUBERNETES_VERSION: {},
    promises.LOG_INDEX_PREFIX: {
        # A container image's own configuration, built without the repository's Python.
        "airgap/images/log-shipper/Dockerfile": "the shipper image's default INDEX_PREFIX",
        "airgap/images/verify-logging.sh": "the image build's own smoke test (shell)",
        "suites/static/checks/log_path.py": "a comment quoting Logstash's pipeline",
    },
    f"127.0.0.1:{promises.NODE_PORTS[0].node_port}": {
        "scenarios/common.py": "locust's default host (a subprocess that imports no suite)",
    },
}


def searched_files(root: Path) -> list[Path]:
    """The repository's files (tracked or not ignored), docs and manifests left out."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    return [
        root / name
        for name in listed
        if not name.endswith(".md") and not name.startswith(("docs/", "manifests/"))
    ]


def copies(value: str, files: list[Path], root: Path) -> set[str]:
    """The files that hold `value`, relative to root."""
    found = set()
    for path in files:
        try:
            if value in path.read_text(errors="ignore"):
                found.add(str(path.relative_to(root)))
        except (FileNotFoundError, IsADirectoryError):
            continue  # listed by git, deleted in the worktree
    return found


def extra_copies(root: Path) -> list[str]:
    """`value in file` for each copy of a drawing value that the table does not allow."""
    files = searched_files(root)
    return [
        f"{value!r} in {name}"
        for value, allowed in ALLOWED.items()
        for name in sorted(copies(value, files, root) - {"drawing.yaml", *allowed})
    ]


def test_each_value_of_the_drawing_is_written_once() -> None:
    assert extra_copies(REPO) == []
    assert promises.KUBERNETES_VERSION in (REPO / "drawing.yaml").read_text()


def test_a_second_copy_is_found(tmp_path: Path) -> None:
    """The control: the same search in a small repository with a planted copy finds it."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "drawing.yaml").write_text(f"kubernetes: {promises.KUBERNETES_VERSION}\n")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "cluster.md").write_text(promises.KUBERNETES_VERSION)
    (tmp_path / "settings.py").write_text(f'K8S = "{promises.KUBERNETES_VERSION}"\n')
    assert extra_copies(tmp_path) == [f"{promises.KUBERNETES_VERSION!r} in settings.py"]
