"""The commands, options and paths the docs name, checked against what exists.

Pure functions: `stale(snippet, known)` returns one sentence per thing a snippet names that
does not exist (a tox env missing from tox.ini, a `python -m testbed` subcommand or flag its
parser lacks, a pytest option nobody registers, a repository path that is not there).
"""

from __future__ import annotations

import ast
import configparser
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

#: Placeholders and elisions: a snippet part with one of these is an example, not a name.
PLACEHOLDER = re.compile(r"[<>{}*|…]|\.\.\.|\[id\]")
#: Folders of the repository a doc may name; `reports/` is written by runs, not tracked.
TRACKED_TOP = ("airgap", "docs", "manifests", "scenarios", "suites", "system", "testbed", ".ci")
#: A run time written as a figure: "~23 min", "about 10 minutes", "a minute", "tens of minutes".
#: Minutes and hours only: the seconds these docs name are thresholds and settings (time to
#: Ready ≤ 10 s), not how long a command takes.
DURATION = re.compile(
    r"\b\d+(?:\.\d+)?\s*(?:min|mins|minutes?|h|hours?)\b"
    r"|\b(?:a|an|one|two|three|five|ten|tens of|a few)\s+(?:min|minutes?|hours?)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Known:
    """What exists: tox envs, pytest options, the testbed CLI, Go components, the files."""

    repo: Path
    tox_envs: frozenset[str]
    pytest_options: frozenset[str]
    #: `python -m testbed` subcommand → its long options.
    testbed_commands: dict[str, frozenset[str]]
    go_components: frozenset[str]


def tox_envs(tox_ini: Path) -> frozenset[str]:
    """The environments tox.ini defines (its [testenv:NAME] sections and env_list)."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(tox_ini)
    named = {s.split(":", 1)[1] for s in parser.sections() if s.startswith("testenv:")}
    listed = re.split(r"[\s,]+", parser.get("tox", "env_list", fallback=""))
    return frozenset(named | {env for env in listed if env})


def go_components(components_tsv: Path) -> frozenset[str]:
    """What `airgap/go/build.sh NAME` builds: `kubernetes` and the rows of components.tsv."""
    rows = components_tsv.read_text().splitlines()
    names = {row.split("\t", 1)[0] for row in rows if row and not row.startswith("#")}
    return frozenset(names | {"kubernetes"})


def snippets(markdown: str) -> Iterator[str]:
    """Inline code spans, and each command of a fenced block (continuations joined)."""
    fenced = re.compile(r"^```[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
    for block in fenced.findall(markdown):
        for line in block.replace("\\\n", " ").splitlines():
            command = line.split(" #", 1)[0].strip()
            if command and not command.startswith("#"):
                yield command
    for span in re.findall(r"`([^`\n]+)`", fenced.sub("", markdown)):
        yield span.strip()


def _tokens(snippet: str) -> list[str]:
    try:
        return shlex.split(snippet)
    except ValueError:  # an unbalanced quote: prose, not a command
        return snippet.split()


def _long_options(tokens: list[str]) -> list[str]:
    return [t.split("=", 1)[0] for t in tokens if t.startswith("--") and len(t) > 2]


def _defines(module: Path, name: str) -> bool:
    """Whether a test module defines a function or class `name` (at any depth), or imports it by
    name (a generic suite's tests run in a module of this project)."""
    tree = ast.parse(module.read_text())
    defined = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    return any(
        (isinstance(node, defined) and node.name == name)
        or (
            isinstance(node, ast.ImportFrom)
            and any((alias.asname or alias.name) == name for alias in node.names)
        )
        for node in ast.walk(tree)
    )


def path_problem(token: str, repo: Path) -> str:
    """Why a repository path (or node id) a doc names does not exist, or ''."""
    path, _, node = token.partition("::")
    if path.split("/", 1)[0] not in TRACKED_TOP or "/" not in path or PLACEHOLDER.search(token):
        return ""
    if not (repo / path).exists():
        return f"`{path}` does not exist"
    function = re.sub(r"\[.*\]$", "", node.split("::")[-1]) if node else ""
    if function and not _defines(repo / path, function):
        return f"`{token}`: {path} defines no {function}"
    return ""


def stale(snippet: str, known: Known) -> list[str]:
    """One sentence per command, option or path in `snippet` that does not exist."""
    tokens = _tokens(snippet)
    if tokens[:1] == ["bash"]:
        tokens = tokens[1:]
    problems = [p for t in tokens if (p := path_problem(t, known.repo))]
    if not tokens or PLACEHOLDER.search(tokens[0]):
        return problems
    head = tokens[0]
    if head == "tox":
        problems += _tox(tokens, known)
    elif head == "pytest" or tokens[:3] == ["python", "-m", "pytest"]:
        problems += _pytest_options(tokens, known)
    elif tokens[:3] == ["python", "-m", "testbed"]:
        problems += _testbed(tokens[3:], known)
    elif tokens[:2] == ["python", "-m"] and len(tokens) > 2:
        problems += _module(tokens[2], known.repo)
    elif head == "airgap/go/build.sh" and tokens[1:2] and tokens[1] not in known.go_components:
        problems.append(
            f"`{snippet}`: airgap/go/build.sh builds no {tokens[1]!r} "
            f"(kubernetes or a row of airgap/go/components.tsv)"
        )
    return problems


def _tox(tokens: list[str], known: Known) -> list[str]:
    own, _, posargs = " ".join(tokens).partition(" -- ")
    own_tokens = own.split()
    problems = []
    for flag in ("-e", "--env"):
        if flag in own_tokens[:-1]:
            for env in own_tokens[own_tokens.index(flag) + 1].split(","):
                if env not in known.tox_envs:
                    problems.append(f"`{' '.join(tokens)}`: tox.ini defines no env {env!r}")
    return problems + _pytest_options(posargs.split(), known)


def _pytest_options(tokens: list[str], known: Known) -> list[str]:
    return [
        f"`{' '.join(tokens)}`: no pytest option {option} is registered"
        for option in _long_options(tokens)
        if option not in known.pytest_options
    ]


def _testbed(args: list[str], known: Known) -> list[str]:
    command = " ".join(["python -m testbed", *args])
    if not args:
        return []
    if args[0] not in known.testbed_commands:
        return [f"`{command}`: python -m testbed has no subcommand {args[0]!r}"]
    options = known.testbed_commands[args[0]]
    return [
        f"`{command}`: python -m testbed {args[0]} has no option {option}"
        for option in _long_options(args[1:])
        if option not in options
    ]


def _module(name: str, repo: Path) -> list[str]:
    if PLACEHOLDER.search(name) or name.split(".")[0] not in {p.name for p in repo.iterdir()}:
        return []  # not one of this repository's modules
    base = repo / name.replace(".", "/")
    if base.with_suffix(".py").is_file() or (base / "__main__.py").is_file():
        return []
    return [f"`python -m {name}`: no module {name} in the repository"]


def durations(text: str) -> list[str]:
    """The durations written as figures in `text` ("~23 min", "about 10 minutes")."""
    return [match.group(0) for match in DURATION.finditer(text)]
