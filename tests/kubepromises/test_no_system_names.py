"""The package is generic: no name of the system it is tested on appears in it.

The names come from the system's drawing file (its namespace, workloads and node agents), so a
new workload there is covered at once.
"""

from __future__ import annotations

from pathlib import Path

import kubepromises
from kubepromises import load_drawing

REPO = Path(__file__).resolve().parents[2]
PACKAGE = Path(kubepromises.__file__).resolve().parent


def system_names(drawing_file: Path) -> set[str]:
    drawing = load_drawing(drawing_file)
    names = {drawing.namespace, "demo-micro", "demo_micro"}
    names |= {w.name for w in drawing.workloads}
    names |= {a.name for a in drawing.node_agents}
    return names


def name_sightings(folder: Path, names: set[str]) -> list[str]:
    """`file:line: name` for each system name in the folder's source and data files."""
    sightings = []
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.suffix not in {".py", ".json", ".yaml", ".md", ".typed"}:
            continue
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            lowered = line.lower()
            sightings += [
                f"{path.relative_to(folder)}:{number}: {name}"
                for name in sorted(names)
                if name in lowered
            ]
    return sightings


def test_the_package_names_no_workload_of_the_system() -> None:
    names = system_names(REPO / "drawing.yaml")
    assert "api-gateway" in names  # the drawing's names were read
    assert name_sightings(PACKAGE, names) == []


def test_a_planted_name_is_found(tmp_path: Path) -> None:
    """The control: the same search finds a workload's name planted in a copy of the package."""
    names = system_names(REPO / "drawing.yaml")
    planted = tmp_path / "kubepromises"
    planted.mkdir()
    for path in PACKAGE.iterdir():
        if path.is_file():
            (planted / path.name).write_bytes(path.read_bytes())
    drawing_py = planted / "drawing.py"
    drawing_py.write_text(drawing_py.read_text() + '\nDEFAULT = "order-service"\n')
    sightings = name_sightings(planted, names)
    assert len(sightings) == 1
    assert sightings[0].startswith("drawing.py:")
    assert sightings[0].endswith(": order-service")
