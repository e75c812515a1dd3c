"""CI runs the README's commands and nothing else: no install or build step of its own, so every
CI run proves on a fresh clone that `tox` and `tox -e e2e` set up what they need themselves."""

from __future__ import annotations

import re
import shlex

from testbed.settings import REPO

CI_RUN = REPO / ".ci" / "run"

#: Shell plumbing, which runs nothing of the project's: the first word of such a line.
PLUMBING = frozenset(
    {"set", "cd", "stamp", "mkdir", "trap", "[", "for", "then", "fi", "else", "exit", "done"}
    | {"rm", "cp", "echo"}
)
#: `stamp()`'s definition and `started=$(date …)`.
DEFINITIONS = re.compile(r"^(\w+\(\)|\w+=)")
#: What CI may run: pip installing tox (the README's prerequisite); `tox`, `tox -e e2e`,
#: `tox -e load`, `tox -e example` and `tox -e external`, with arguments for pytest only (after
#: `--`); and, from the envs those made, the report's merge and gate, and the testbed's status
#: and clean-up (after a failure, and before `tox -e external`).
ALLOWED = (
    re.compile(r'python3 -m pip install( -[-\w]+)* "?tox[<>=~!.\d]*"?'),
    re.compile(r"tox( -e (e2e|load|example|external))?( -- .*)?"),
    re.compile(
        r"\.tox/\w+/bin/python -m (suites\.reporting\.(merge|gate)|testbed (status|down))( .*)?"
    ),
)


def steps(script: str) -> list[str]:
    """Each command line of a bash script that runs something, without `if !` and `|| true`."""
    found = []
    for raw in script.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or DEFINITIONS.match(line):
            continue
        line = re.sub(r"^(if|while) !? ?", "", line)
        line = re.sub(r"(; then| \|\| true|; do)$", "", line)
        first = shlex.split(line)[0] if line else ""
        if first in PLUMBING:
            continue
        found.append(line)
    return found


def not_the_readme(script: str) -> list[str]:
    """The steps of a CI script that are not the README's commands."""
    return [s for s in steps(script) if not any(a.fullmatch(s) for a in ALLOWED)]


def test_ci_runs_the_readme_commands_and_nothing_else() -> None:
    script = CI_RUN.read_text()
    assert not_the_readme(script) == []
    # and it runs them all: the two commands, the load and the second drawing
    ran = steps(script)
    for command in ("tox", "tox -e e2e", "tox -e load", "tox -e example", "tox -e external"):
        assert any(s == command or s.startswith(command + " -- ") for s in ran), (command, ran)


#: The `.ci/run` of 4 Dec 2026 (a416c08): it installed and built before the README's commands.
WITH_ITS_OWN_STEPS = """
stamp "pip install tox (the README's prerequisite: Python and tox)"
python3 -m pip install -q --disable-pip-version-check "tox>=4.20"
for component in kubernetes traefik; do
  airgap/go/build.sh "$component" >/dev/null 2>>reports/build.log &
done
tox -e e2e --notest
.tox/e2e/bin/python -m testbed setup e2e
.tox/e2e/bin/python -m testbed build >> reports/build.log 2>&1 &
tox
if ! tox -e e2e -- --keep-cluster; then
  .tox/e2e/bin/python -m testbed status || true
fi
"""


def test_a_ci_script_with_steps_of_its_own_is_caught() -> None:
    # negative control: each step beyond the README's commands is reported, and only those
    assert not_the_readme(WITH_ITS_OWN_STEPS) == [
        'airgap/go/build.sh "$component" >/dev/null 2>>reports/build.log &',
        "tox -e e2e --notest",
        ".tox/e2e/bin/python -m testbed setup e2e",
        ".tox/e2e/bin/python -m testbed build >> reports/build.log 2>&1 &",
    ]
    assert not_the_readme('python3 -m pip install -q "tox>=4.20" kubernetes') != []
