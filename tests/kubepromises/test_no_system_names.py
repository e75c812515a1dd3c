"""The package is generic: no name of a system it is tested on appears in it.

The names come from the systems' drawing files, this repository's and the shop example's, so a
new workload, ConfigMap or volume there is covered at once: every name the drawing gives
(namespace, workloads, node agents, volumes, ConfigMaps, Secrets, NodePort Services, the ingress
host, the log index prefix), found anywhere in a line, and the distinctive words of its
workloads' names (`inventory`, `orders`: the parts of five letters or more that the package's
own vocabulary, its published schema, does not use), found as words.
"""

from __future__ import annotations

import re
from collections.abc import Set
from pathlib import Path

import kubepromises
from kubepromises import load_drawing

REPO = Path(__file__).resolve().parents[2]
PACKAGE = Path(kubepromises.__file__).resolve().parent
DRAWINGS = (REPO / "drawing.yaml", REPO / "examples" / "shop" / "drawing.yaml")


def system_names(drawing_file: Path) -> set[str]:
    """Every name the drawing gives, and the project's name beside its namespace."""
    drawing = load_drawing(drawing_file)
    names = {drawing.namespace, drawing.ingress.host, drawing.log_index_prefix}
    names |= {drawing.namespace.replace("-", "_")}
    names |= {w.name for w in drawing.workloads}
    names |= {a.name for a in drawing.node_agents}
    names |= {v.drawing_name for v in drawing.volumes}
    names |= set(drawing.configmaps) | set(drawing.secrets)
    names |= {p.service for p in drawing.node_ports}
    return names


def system_words(drawing_file: Path) -> set[str]:
    """The distinctive words of the workloads' names: `order-service` gives `order`."""
    vocabulary = set(re.findall(r"[a-z]+", (PACKAGE / "drawing.schema.json").read_text().lower()))
    drawing = load_drawing(drawing_file)
    parts = {part for w in drawing.workloads for part in w.name.split("-")}
    return {part for part in parts if len(part) >= 5 and part not in vocabulary}


def name_sightings(folder: Path, names: Set[str], words: Set[str] = frozenset()) -> list[str]:
    """`file:line: name` for each system name (anywhere) or word (as a word, or plural) in the
    folder's source and data files."""
    patterns = {word: re.compile(rf"\b{re.escape(word)}s?\b") for word in words}
    sightings = []
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.suffix not in {".py", ".json", ".yaml", ".md", ".typed"}:
            continue
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            lowered = line.lower()
            found = {name for name in names if name in lowered}
            found |= {word for word, pattern in patterns.items() if pattern.search(lowered)}
            sightings += [f"{path.relative_to(folder)}:{number}: {name}" for name in sorted(found)]
    return sightings


def test_the_package_names_no_workload_of_the_system() -> None:
    names = set().union(*(system_names(drawing) for drawing in DRAWINGS))
    words = set().union(*(system_words(drawing) for drawing in DRAWINGS))
    assert {"api-gateway", "app-version", "storefront"} <= names  # the drawings' names were read
    assert {"order", "inventory", "notification", "checkout"} <= words
    assert "service" not in words  # the package's vocabulary, not a system's
    assert name_sightings(PACKAGE, names, words) == []


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


def test_a_planted_word_is_found_as_a_word(tmp_path: Path) -> None:
    """The control for words: `orders` in a comment is found, `reorder` is not a sighting."""
    words = system_words(REPO / "drawing.yaml")
    (tmp_path / "checks.py").write_text("# the orders of a run\nREORDER = 1  # reorder them\n")
    assert name_sightings(tmp_path, set(), words) == ["checks.py:1: order"]
