"""What goes into a test's row of the HTML report: diagnostics files and timelines, bounded."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Final

#: Whole-file order and how much of each kind to keep (the end of a file is the news).
FIRST: Final = ("events.txt", "describe.txt", "nodes.txt")
FILE_CHARS: Final = 20_000
LOG_LINES: Final = 60
LOG_CHARS: Final = 6_000
TOTAL_CHARS: Final = 150_000

Extra = dict[str, str | None]


def html_extra(content: str) -> Extra:
    """A pytest-html `extras` entry of inline HTML (the shape `pytest_html.extras.html` makes)."""
    return {
        "name": None,
        "format_type": "html",
        "content": content,
        "mime_type": None,
        "extension": None,
    }


@dataclass(frozen=True)
class Excerpt:
    """The kept end of one file, and what was left out."""

    name: str
    text: str
    dropped_lines: int


def tail(text: str, lines: int | None, chars: int) -> tuple[str, int]:
    """The last `lines` lines and at most `chars` characters, and how many lines were dropped."""
    all_lines = text.splitlines()
    kept = all_lines[-lines:] if lines is not None else all_lines
    joined = "\n".join(kept)
    if len(joined) > chars:
        joined = joined[-chars:].split("\n", 1)[-1]
    return joined, len(all_lines) - len(joined.splitlines())


def excerpts(folder: Path, budget: int = TOTAL_CHARS) -> list[Excerpt]:
    """The folder's files (events, describe, nodes, then pod logs), cut to fit the budget."""
    files = [folder / name for name in FIRST if (folder / name).is_file()]
    files += sorted((folder / "logs").glob("*.log")) if (folder / "logs").is_dir() else []
    found = []
    for path in files:
        is_log = path.suffix == ".log"
        limit = min(LOG_CHARS if is_log else FILE_CHARS, budget)
        if limit <= 0:
            found.append(Excerpt(path.name, "", len(path.read_text(errors="replace").splitlines())))
            continue
        text, dropped = tail(path.read_text(errors="replace"), LOG_LINES if is_log else None, limit)
        budget -= len(text)
        found.append(Excerpt(str(path.relative_to(folder)), text, dropped))
    return found


def diagnostics_html(folder: Path, budget: int = TOTAL_CHARS) -> str:
    """Each file as a collapsible block; the events open."""
    blocks = [f"<h4>Cluster diagnostics <small>(full files in {escape(str(folder))})</small></h4>"]
    for excerpt in excerpts(folder, budget):
        note = f" — last part; {excerpt.dropped_lines} earlier lines left out" * bool(
            excerpt.dropped_lines
        )
        opened = " open" if excerpt.name == "events.txt" else ""
        blocks.append(
            f'<details class="diagnostics"{opened}><summary>{escape(excerpt.name)}'
            f"<small>{escape(note)}</small></summary>"
            f'<pre style="max-height:30em;overflow:auto;white-space:pre-wrap">'
            f"{escape(excerpt.text)}</pre></details>"
        )
    return "\n".join(blocks)


def add_extras(report: object, extras: list[Extra]) -> None:
    """Append to a test report's pytest-html extras."""
    report.extras = [*getattr(report, "extras", []), *extras]  # type: ignore[attr-defined]


def attach_diagnostics(report: object, folder: Path) -> None:
    """Add the folder's diagnostics (events, describe, pod log tails) to a report's extras."""
    add_extras(report, [html_extra(diagnostics_html(folder))])
