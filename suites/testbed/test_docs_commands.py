"""What the docs tell people to type exists: tox envs, `python -m testbed` commands and flags,
pytest options, repository paths; and the run times are written once, in one measured table."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

import pytest

from suites.testbed._docs import Known, durations, go_components, snippets, stale, tox_envs
from testbed.__main__ import parser
from testbed.settings import REPO

DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
#: The one table of measured run times; README and QUICKSTART point to it.
TIMES_DOC = REPO / "docs" / "cluster.md"
TIMES_HEADING = "## How long each command takes"
POINTING_DOCS = (REPO / "README.md", REPO / "docs" / "QUICKSTART.md")


def cli_commands() -> dict[str, frozenset[str]]:
    """`python -m testbed`'s subcommands, each with its long options, from the real parser."""
    found: dict[str, frozenset[str]] = {}
    for action in parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found[name] = frozenset(o for o in sub._option_string_actions if o[:2] == "--")
    return found


@pytest.fixture(scope="module")
def known() -> Known:
    # Every suite folder as an argument, so that each conftest's options are registered.
    folders = sorted(str(p) for p in (REPO / "suites").iterdir() if (p / "conftest.py").exists())
    helped = subprocess.run(
        [sys.executable, "-m", "pytest", "--help", "-p", "no:cacheprovider", *folders],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return Known(
        repo=REPO,
        tox_envs=tox_envs(REPO / "tox.ini"),
        pytest_options=frozenset(re.findall(r"--[a-z][a-z0-9-]*", helped.stdout)),
        testbed_commands=cli_commands(),
        go_components=go_components(REPO / "airgap" / "go" / "components.tsv"),
    )


@pytest.mark.parametrize("doc", DOCS, ids=lambda doc: doc.name)
def test_every_command_option_and_path_the_doc_names_exists(doc: Path, known: Known) -> None:
    problems = [p for snippet in snippets(doc.read_text()) for p in stale(snippet, known)]
    assert problems == [], f"{doc.relative_to(REPO)}:\n" + "\n".join(problems)


def test_the_checker_reads_the_commands_of_the_readme_and_the_quickstart() -> None:
    # The docs test above passes vacuously if no snippet is found: these must be.
    seen = {s for doc in POINTING_DOCS for s in snippets(doc.read_text())}
    assert {"tox -e e2e", "tox", "python -m testbed up", "bash .ci/run"} <= seen
    assert any(s.startswith("pytest --cluster --testbed-reuse") for s in seen), sorted(seen)


STALE_DOC = """
Run `tox -e endtoend` or `tox -e fast,lint2 -- --clusterr`, then `python -m testbed launch`,
`python -m testbed up --fast`, `pytest --keep-clusters suites/smoke`, `python -m suites.nothing`,
`airgap/go/build.sh nginx`, `bash .ci/go`, and look at `suites/resilience/test_gone.py`, at
`suites/smoke/test_testbed_is_up.py::test_no_such_promise` and at `docs/no-such-folder/`.

```bash
pytest --cluster --testbed-reused --keep-cluster suites/resilience/test_self_healing.py \\
  --html=reports/mine/report.html
```
"""


def test_a_stale_command_option_or_path_in_a_doc_is_caught(known: Known) -> None:
    # negative control: each stale name in the snippet is reported, by name
    problems = "\n".join(p for s in snippets(STALE_DOC) for p in stale(s, known))
    for name in (
        "env 'endtoend'",
        "env 'lint2'",
        "option --clusterr",
        "subcommand 'launch'",
        "python -m testbed up has no option --fast",
        "option --keep-clusters",
        "no module suites.nothing",
        "builds no 'nginx'",
        "`.ci/go` does not exist",
        "`suites/resilience/test_gone.py` does not exist",
        "defines no test_no_such_promise",
        "`docs/no-such-folder/` does not exist",
        "option --testbed-reused",
    ):
        assert name in problems, f"not caught: {name}\n{problems}"


def test_the_same_names_when_current_pass(known: Known) -> None:
    # the control's counterpart: the current names in the same shapes are not reported
    current = """
`tox -e e2e`, `tox -e fast,lint -- --cluster`, `python -m testbed setup fast --check`,
`python -m testbed up --no-deploy --mode offline`, `pytest --keep-cluster suites/smoke`,
`python -m suites.reporting.checklist`, `airgap/go/build.sh ferretdb`, `bash .ci/run`,
`suites/smoke/test_testbed_is_up.py::test_every_volume_claim_is_bound`, `manifests/overlays/<x>`,
`suites/static/test_drawing_counts.py::test_a_missing_workload_is_caught[kind]` (imported there)
"""
    assert [p for s in snippets(current) for p in stale(s, known)] == []


def _times_section() -> str:
    text = TIMES_DOC.read_text()
    assert TIMES_HEADING in text, f"{TIMES_DOC.name} lost its section {TIMES_HEADING!r}"
    section = text.split(TIMES_HEADING, 1)[1]
    return section.split("\n## ", 1)[0]


@pytest.mark.parametrize("doc", POINTING_DOCS, ids=lambda doc: doc.name)
def test_run_times_are_not_repeated_but_pointed_to(doc: Path) -> None:
    text = doc.read_text()
    assert durations(text) == [], (
        f"{doc.name} writes run times ({durations(text)}); they live in one measured table, "
        f"{TIMES_DOC.relative_to(REPO)} '{TIMES_HEADING[3:]}': point there instead"
    )
    assert "docs/cluster.md" in text or "cluster.md" in text


def test_the_times_table_holds_figures_with_a_date() -> None:
    section = _times_section()
    assert len(durations(section)) >= 6, section
    assert re.search(r"\d{1,2} (Nov|Dec) 2026", section), "the table's figures carry no date"


def test_a_run_time_in_prose_is_caught() -> None:
    # negative control of the rule above: the disagreement issue 15 names
    quickstart = "later runs take about 10 minutes"
    readme = "`tox -e e2e` ~23 min (cluster up in ~3 min)"
    assert durations(quickstart) == ["10 minutes"]
    assert durations(readme) == ["23 min", "3 min"]
    assert durations("ports 30080, 30561 and 30800; 2 cores; 15 GiB; Ready ≤ 10 s") == []
