"""Every claim is resolved against the collection: a deselected or uncollected claimed test is
"not run", a claim naming nothing in a collected folder is an error, a fake backs no verdict."""

from __future__ import annotations

import json

import pytest

from suites.promises import REPO_ROOT

pytest_plugins = ["pytester"]

MATRIX = """
from kubepromises.report.matrix import Promise

PROMISES = (
    Promise("by-module", "key features", "By module", "two functions, claimed by module",
            ("tests/static/test_pair.py",)),
    Promise("load", "behaviour", "Load", "a folder of cluster and local tests",
            ("tests/load/",)),
    Promise("elsewhere", "behaviour", "Elsewhere", "a suite this run does not collect",
            ("tests/static/test_pair.py::test_one", "tests/live/test_live.py")),
    Promise("faked", "data flow", "Faked", "checked only against a stand-in written for the test",
            ("tests/static/test_fake.py",)),
)
"""

TWO = """
def test_one():
    pass

def test_two():
    pass
"""

LOAD = """
import pytest

@pytest.mark.cluster
def test_on_the_cluster():
    pass

def test_on_the_local_stack():
    pass
"""

LIVE = """
def test_live():
    pass
"""

FAKE = """
import pytest

pytestmark = pytest.mark.fake("kibana")

def test_against_the_fake():
    pass
"""


def suite(pytester: pytest.Pytester, matrix: str = MATRIX) -> None:
    """The synthetic matrix and its tests; the inner runs import the repository's plugin."""
    pytester.makeini(
        "[pytest]\npromise_matrix = synthetic_matrix\nmarkers =\n    cluster: needs a cluster\n"
    )
    pytester.makepyfile(synthetic_matrix=matrix)
    for folder, files in {
        "static": {"test_pair.py": TWO, "test_fake.py": FAKE},
        "load": {"test_load.py": LOAD},
        "live": {"test_live.py": LIVE},
    }.items():
        path = pytester.path / "tests" / folder
        path.mkdir(parents=True)
        for name, text in files.items():
            (path / name).write_text(text)


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    pytester.syspathinsert(REPO_ROOT)
    pytester.syspathinsert(pytester.path)
    return pytester.runpytest_inprocess(
        "-p", "suites.reporting.plugin", "-p", "no:cacheprovider", "--promises-json=out.json", *args
    )


def verdicts(pytester: pytest.Pytester) -> dict[str, str]:
    document = json.loads((pytester.path / "out.json").read_text())
    return {p["key"]: p["verdict"] for p in document["promises"]}


def claimed_tests(pytester: pytest.Pytester, key: str) -> dict[str, str]:
    document = json.loads((pytester.path / "out.json").read_text())
    promise = next(p for p in document["promises"] if p["key"] == key)
    return {n: o for c in promise["claims"] for n, o in c["tests"].items()}


def test_a_deselected_function_of_a_promise_claimed_by_module_leaves_it_partly_verified(
    pytester: pytest.Pytester,
) -> None:
    suite(pytester)
    result = run(pytester, "tests/static", "-k", "not test_two")
    result.assert_outcomes(passed=2, deselected=1)
    assert verdicts(pytester)["by-module"] == "partly verified"
    assert claimed_tests(pytester, "by-module") == {
        "tests/static/test_pair.py::test_one": "passed",
        "tests/static/test_pair.py::test_two": "deselected",
    }


def test_tests_deselected_by_a_marker_expression_are_not_run(pytester: pytest.Pytester) -> None:
    suite(pytester)
    run(pytester, "tests/load", "-m", "cluster").assert_outcomes(passed=1, deselected=1)
    assert verdicts(pytester)["load"] == "partly verified"
    assert claimed_tests(pytester, "load")["tests/load/test_load.py::test_on_the_local_stack"] == (
        "deselected"
    )


def test_every_claimed_test_run_and_passed_is_still_passed(pytester: pytest.Pytester) -> None:
    suite(pytester)
    run(pytester, "tests/static", "tests/load").assert_outcomes(passed=5)
    assert verdicts(pytester)["by-module"] == verdicts(pytester)["load"] == "passed"


def test_a_claim_into_a_suite_this_run_did_not_collect_is_not_run_not_an_error(
    pytester: pytest.Pytester,
) -> None:
    suite(pytester)
    run(pytester, "tests/static").assert_outcomes(passed=3)
    assert verdicts(pytester)["elsewhere"] == "partly verified"
    assert verdicts(pytester)["load"] == "not verified"


@pytest.mark.parametrize(
    "claim",
    ["tests/static/test_gone.py", "tests/static/test_pair.py::test_three", "tests/static/old/"],
)
def test_a_claim_naming_no_test_in_a_collected_folder_is_an_error(
    pytester: pytest.Pytester, claim: str
) -> None:
    suite(pytester, MATRIX.replace('"tests/static/test_fake.py"', f'"{claim}"'))
    result = run(pytester, "tests/static")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*faked*{claim}*names no test*"])


def test_a_promise_without_claims_is_an_error_in_any_matrix_module(
    pytester: pytest.Pytester,
) -> None:
    suite(pytester, MATRIX.replace('("tests/static/test_fake.py",)', "()"))
    result = run(pytester, "tests/static")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*faked*claims no test*"])


def test_a_test_against_a_fake_backs_no_verdict(pytester: pytest.Pytester) -> None:
    suite(pytester)
    run(pytester, "tests/static").assert_outcomes(passed=3)
    assert verdicts(pytester)["faked"] == "not verified"
    assert claimed_tests(pytester, "faked") == {
        "tests/static/test_fake.py::test_against_the_fake": "passed against a fake kibana"
    }


@pytest.mark.parametrize(
    "argument", ["tests/load/test_load.py", "tests/load/test_load.py::test_on_the_local_stack"]
)
def test_a_claim_the_arguments_name_only_in_part_is_not_passed(
    pytester: pytest.Pytester, argument: str
) -> None:
    # the claim is the folder tests/load/; the run names a module or a test in it (the control,
    # the whole folder passing, is test_every_claimed_test_run_and_passed_is_still_passed)
    suite(pytester)
    run(pytester, argument).assert_outcomes(passed=1 if "::" in argument else 2)
    assert verdicts(pytester)["load"] == "partly verified"
    document = json.loads((pytester.path / "out.json").read_text())
    assert document["claims_in_part"] == ["tests/load/"]
    assert "tests/static/test_pair.py" not in document["claims_whole"]


def test_the_run_records_the_testbeds_mode_for_the_gate(pytester: pytest.Pytester) -> None:
    suite(pytester)
    pytester.makeconftest(
        "import types, pytest\n\n"
        "@pytest.fixture(scope='session')\n"
        "def testbed():\n"
        "    return types.SimpleNamespace(offline=True)\n"
    )
    (pytester.path / "tests" / "live" / "test_live.py").write_text(
        "def test_live(testbed):\n    pass\n"
    )
    run(pytester, "tests/live").assert_outcomes(passed=1)
    assert json.loads((pytester.path / "out.json").read_text())["modes"] == ["offline"]
    run(pytester, "tests/static").assert_outcomes(passed=3)  # the control: no testbed, no mode
    assert json.loads((pytester.path / "out.json").read_text())["modes"] == []


@pytest.mark.parametrize(
    ("module", "verdict"),
    [
        (
            "import pytest\npytest.skip('no FerretDB here', allow_module_level=True)\n",
            "not verified",
        ),
        ("import no_such_module\n", "failed"),
    ],
    ids=["skipped-whole", "import-error"],
)
def test_a_claimed_module_that_could_not_be_collected_is_judged_not_misnamed(
    pytester: pytest.Pytester, module: str, verdict: str
) -> None:
    suite(pytester)
    (pytester.path / "tests" / "static" / "test_fake.py").write_text(module)
    result = run(pytester, "tests/static")
    assert result.ret != pytest.ExitCode.USAGE_ERROR
    assert verdicts(pytester)["faked"] == verdict
