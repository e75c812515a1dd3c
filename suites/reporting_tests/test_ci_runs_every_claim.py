"""CI runs what the gate requires: every test a promise claims, when CI must see that promise
passed (`verify_in` not empty), lies under a path that one of CI's tox envs gives pytest.

Without this a claim added to a required promise but run only by an env outside CI (as
`suites/campaign_live/` was, run by `tox -e campaign-live` alone) leaves the promise "partly
verified" and fails the gate at the end of a 33-min CI run (4 Dec 2026) instead of here.
"""

from __future__ import annotations

import configparser
import re
import shlex
from pathlib import PurePosixPath

from kubepromises.report.matrix import Promise
from suites.matrix import PROMISES
from suites.promises import REPO_ROOT

#: `tox -e NAME` in a script.
TOX_ENV = re.compile(r"^\s*(?:if !\s*)?tox -e ([\w-]+)", re.MULTILINE)


def ci_envs(tox_ini: str, ci_script: str) -> list[str]:
    """The tox envs `.ci/run` runs: `tox` alone runs tox.ini's env_list; then each `tox -e`."""
    config = configparser.ConfigParser(interpolation=None)
    config.read_string(tox_ini)
    listed = [env.strip() for env in config["tox"]["env_list"].split(",")]
    return list(dict.fromkeys([*listed, *TOX_ENV.findall(ci_script)]))


def pytest_paths(tox_ini: str, env: str) -> list[PurePosixPath]:
    """The path arguments of the pytest command of a tox env (its options left out)."""
    config = configparser.ConfigParser(interpolation=None)
    config.read_string(tox_ini)
    commands = config[f"testenv:{env}"]["commands"].replace("\\\n", " ")
    paths = []
    for line in commands.splitlines():
        words = shlex.split(line.replace("{posargs}", ""))
        if words[:1] != ["pytest"]:
            continue
        paths += [
            PurePosixPath(word)
            for word in words[1:]
            if not word.startswith("-") and word.split("/")[0] in ("suites", "tests")
        ]
    return paths


def not_run(promise: Promise, run: list[PurePosixPath]) -> list[str]:
    """The promise's claims that lie under none of the paths CI runs."""
    return [
        claim
        for claim in promise.tests
        if not any(PurePosixPath(claim.split("::")[0]).is_relative_to(path) for path in run)
    ]


def ci_paths() -> list[PurePosixPath]:
    tox_ini = (REPO_ROOT / "tox.ini").read_text()
    envs = ci_envs(tox_ini, (REPO_ROOT / ".ci" / "run").read_text())
    return [path for env in envs for path in pytest_paths(tox_ini, env)]


def test_every_claim_of_a_promise_ci_must_verify_is_in_a_path_ci_runs() -> None:
    # arrange: the paths CI's pytest commands run
    run = ci_paths()
    assert PurePosixPath("suites/resilience") in run, run

    # act: the claims of every required promise outside them
    missing = {p.key: not_run(p, run) for p in PROMISES if p.verify_in and not_run(p, run)}

    # assert
    assert missing == {}, f"claimed, required by the gate, and run by no CI env: {missing}"


def test_negative_control_a_claim_in_a_suite_ci_does_not_run_is_reported() -> None:
    # arrange: a required promise claiming a folder next to one CI runs (a prefix of its name)
    promise = Promise(
        "planted",
        "behaviour",
        "Planted",
        "claimed outside CI",
        ("suites/campaign/", "suites/campaign_elsewhere/test_x.py::test_y"),
    )

    # act
    missing = not_run(promise, [PurePosixPath("suites/campaign"), PurePosixPath("suites/static")])

    # assert: the folder CI runs is fine, the one it does not is named
    assert missing == ["suites/campaign_elsewhere/test_x.py::test_y"]
