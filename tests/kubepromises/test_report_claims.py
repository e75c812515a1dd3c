"""Claims by dotted module name (`package.module::test_x`): in the run's scope when the run names
the module (`--pyargs`) or its file; matched by the module a test was collected from, wherever the
package is installed; a misnamed one in scope stops the run, naming it."""

from __future__ import annotations

import shlex
import shutil
from pathlib import Path

import pytest

import kubepromises
from kubepromises.report.collection import covered, is_dotted, path_form, run_scope
from kubepromises.report.matrix import Promise, lies_under
from kubepromises.report.status import Result, module_id
from suites.static.render import renderer

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parents[2]
SHOP = REPO / "examples" / "shop"
PACKAGE = Path(kubepromises.__file__).resolve().parent
CLAIM = "kubepromises.live_suite::test_replicas_run_on_different_nodes"


@pytest.mark.parametrize(
    ("claim", "dotted"),
    [
        ("kubepromises.live_suite", True),
        (CLAIM, True),
        ("suites/static/test_replicas.py", False),
        ("suites/static/", False),
        ("test_top.py::test_x", False),
    ],
)
def test_a_claim_is_dotted_only_without_a_path(claim: str, dotted: bool) -> None:
    assert is_dotted(claim) is dotted


def test_a_dotted_claim_under_the_rootdir_has_a_path_form_and_one_elsewhere_has_none(
    tmp_path: Path,
) -> None:
    root = PACKAGE.parent
    assert (
        path_form(CLAIM, root)
        == f"{PACKAGE.name}/live_suite.py::test_replicas_run_on_different_nodes"
    )
    assert path_form("kubepromises", root) == f"{PACKAGE.name}/"
    assert path_form(CLAIM, tmp_path) == CLAIM  # the module is not under this rootdir
    assert path_form("no_such_package.module", root) == "no_such_package.module"


def test_pyargs_put_the_module_name_and_its_file_in_the_scope(tmp_path: Path) -> None:
    root = PACKAGE.parent
    scope = run_scope(["kubepromises.live_suite"], tmp_path, root, pyargs=True)
    assert scope == ("kubepromises.live_suite", f"{PACKAGE.name}/live_suite.py")
    assert covered(CLAIM, scope, root)
    assert not covered("kubepromises.static_suite::test_x", scope, root)


def test_a_dotted_claim_is_covered_by_its_file_named_as_a_file_not_by_a_folder() -> None:
    """A folder collects only the files its name patterns match, which a package's modules
    need not: naming the folder does not put a module's claim in the run."""
    root = PACKAGE.parent
    assert covered(CLAIM, (f"{PACKAGE.name}/live_suite.py",), root)
    assert not covered(CLAIM, (f"{PACKAGE.name}/",), root)
    assert not covered(CLAIM, ("",), root)


def test_a_test_is_named_by_its_module_wherever_the_package_lies() -> None:
    nodeid = "../site-packages/kubepromises/live_suite.py::test_replicas_run_on_different_nodes[a]"
    named = module_id(
        nodeid, "../site-packages/kubepromises/live_suite.py", "kubepromises.live_suite"
    )
    assert named == CLAIM + "[a]"
    assert Result(nodeid, "passed", module=named).named_by(CLAIM)
    assert Result(nodeid, "passed", module=named).named_by("kubepromises.live_suite")
    assert not Result(nodeid, "passed").named_by(CLAIM)  # the control: by path it is not


def test_a_misnamed_dotted_claim_in_the_run_stops_it_naming_the_claim(
    pytester: pytest.Pytester,
) -> None:
    # arrange: the shop with one claim naming a test the static suite does not have
    shop = pytester.path / "shop"
    shutil.copytree(SHOP, shop)
    promises = shop / "promises.yaml"
    real = "kubepromises.static_suite::test_a_missing_workload_is_caught"
    promises.write_text(promises.read_text().replace(real, real + "_twice"))
    # act
    result = pytester.runpytest_inprocess(
        "-p",
        "no:cacheprovider",
        "-W",
        "ignore::pytest.PytestAssertRewriteWarning",
        "--pyargs",
        "kubepromises.static_suite",
        f"--drawing={shop / 'drawing.yaml'}",
        f"--kustomize={shlex.join(renderer())}",
    )
    # assert
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*'workloads' claims {real}_twice, which names no test*"])


def test_a_claim_is_verified_against_the_longest_name_it_lies_under() -> None:
    promise = Promise(
        "p",
        "behaviour",
        "P",
        "p",
        ("tests/live/test_a.py::test_x", "tests/live/slow/test_b.py", CLAIM, "tests/other/"),
        verified_against=(
            ("tests/live/", "the cluster"),
            ("tests/live/slow/", "the cluster, slowly"),
            ("kubepromises.live_suite", "the deployed drawing"),
        ),
    )
    assert [promise.against(prefix) for prefix in promise.tests] == [
        "the cluster",
        "the cluster, slowly",
        "the deployed drawing",
        "—",  # the control: a claim under no name says nothing
    ]
    assert not lies_under("kubepromises.live_suite_extra::test_x", "kubepromises.live_suite")
