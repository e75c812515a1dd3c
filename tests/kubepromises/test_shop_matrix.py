"""The shop's promise matrix: its promises file claims the package's generic tests by module name,
and its report judges them, with no cluster and no Python of the shop's.

The verdicts are judged twice: from outcome sets written here (node ids as an installed package
gives them, so only the module names can match), and from a real run of the generic static suite
on the shop (pytester), whose HTML report opens with the shop's matrix. The negative controls: a
claimed test that failed fails its promise; one not run leaves it partly or not verified, never
passed.
"""

from __future__ import annotations

import inspect
import json
import shlex
import shutil
from pathlib import Path
from types import ModuleType

import pytest

from kubepromises import live_suite, load_drawing, static_suite
from kubepromises.report.matrix import promises_of
from kubepromises.report.status import Outcome, Result, build, module_id
from suites.static.render import renderer
from tests.kubepromises.example import SHOP

pytest_plugins = ["pytester"]

PROMISES = promises_of(load_drawing(SHOP / "drawing.yaml"))
#: Where a non-editable install puts the package, as a node id from some other rootdir.
INSTALLED = "../venv/lib/python3.11/site-packages/kubepromises"
#: The inner runs share this process, where the package is imported already, so pytest warns that
#: it cannot rewrite its asserts; nothing else differs.
ALREADY_IMPORTED = "ignore::pytest.PytestAssertRewriteWarning"


def generic_tests(module: ModuleType) -> list[str]:
    """The test functions a module defines or imports, by name."""
    functions = inspect.getmembers(module, inspect.isfunction)
    return [name for name, _ in functions if name.startswith("test_")]


def installed_results(outcome_of: dict[str, Outcome] | None = None) -> list[Result]:
    """Every generic test on both of the shop's overlays, as a run of the installed package
    reports them: `passed` unless `outcome_of` (by function name) says otherwise."""
    results = []
    for module in (static_suite, live_suite):
        stem = module.__name__.rsplit(".", 1)[1]
        for name in generic_tests(module):
            for overlay in ("plain", "offline"):
                nodeid = f"{INSTALLED}/{stem}.py::{name}[{overlay}]"
                outcome = (outcome_of or {}).get(name, "passed")
                named = module_id(nodeid, f"{INSTALLED}/{stem}.py", module.__name__)
                results.append(Result(nodeid, outcome, module=named))
    return results


def verdicts(results: list[Result]) -> dict[str, str]:
    return {r.promise.key: r.verdict for r in build(PROMISES, results, {}, set())}


def test_every_claim_of_the_shop_names_a_generic_test_and_every_generic_test_is_claimed() -> None:
    claimed = {prefix for promise in PROMISES for prefix in promise.tests}
    named = {
        f"{module.__name__}::{name}"
        for module in (static_suite, live_suite)
        for name in generic_tests(module)
    }
    assert claimed - named == set(), "examples/shop/promises.yaml claims tests that do not exist"
    assert named - claimed == set(), (
        "a generic test no promise of examples/shop/promises.yaml claims: the shop's matrix would "
        "not show it; claim it under the promise it checks"
    )


def test_every_generic_test_passed_makes_every_promise_of_the_shop_passed() -> None:
    assert set(verdicts(installed_results()).values()) == {"passed"}


def test_a_claimed_test_that_failed_fails_its_promise() -> None:
    # arrange: the replica check failed on both overlays; every other test passed
    failed: dict[str, Outcome] = {"test_every_workload_runs_the_drawings_replica_count": "failed"}
    # act
    found = verdicts(installed_results(failed))
    # assert: its promise failed, the others stay passed
    assert found["high-availability"] == "failed"
    assert {v for k, v in found.items() if k != "high-availability"} == {"passed"}


@pytest.mark.parametrize("outcome", ["skipped", "deselected", "not run"])
def test_a_claimed_test_that_did_not_run_never_passes_its_promise(outcome: Outcome) -> None:
    # the self-healing promise claims one test; high availability claims six
    found = verdicts(
        installed_results(
            {
                "test_a_deleted_replica_is_replaced_in_time": outcome,
                "test_replicas_run_on_different_nodes": outcome,
            }
        )
    )
    assert found["self-healing"] == "not verified"
    assert found["high-availability"] == "partly verified"


def test_a_claimed_test_missing_from_the_run_is_not_verified() -> None:
    results = [r for r in installed_results() if "replaced_in_time" not in r.nodeid]
    assert verdicts(results)["self-healing"] == "not verified"


def test_a_test_of_the_same_name_in_another_module_is_not_claimed() -> None:
    """Claims by module name match the module, not a function name alone: the shop's live claims
    do not take a test of the same name collected from some other module."""
    elsewhere = Result(
        "tests/test_x.py::test_a_deleted_replica_is_replaced_in_time[plain]",
        "passed",
        module="tests.test_x::test_a_deleted_replica_is_replaced_in_time[plain]",
    )
    assert verdicts([elsewhere])["self-healing"] == "not verified"


# -- the real plugin: the generic static suite run on the shop ---------------------------------


def run_static_suite(pytester: pytest.Pytester, drawing: Path) -> pytest.RunResult:
    return pytester.runpytest_inprocess(
        "-p",
        "no:cacheprovider",
        "-W",
        ALREADY_IMPORTED,
        "--pyargs",
        "kubepromises.static_suite",
        f"--drawing={drawing}",
        f"--kustomize={shlex.join(renderer())}",
        "--html=out/report.html",
        "--self-contained-html",
    )


def matrix_of(pytester: pytest.Pytester) -> dict[str, str]:
    document = json.loads((pytester.path / "out" / "promises.json").read_text())
    return {p["key"]: p["verdict"] for p in document["promises"]}


def test_the_shops_report_opens_with_its_own_matrix(pytester: pytest.Pytester) -> None:
    # act: the static suite alone, as `pytest --pyargs kubepromises.static_suite` runs it
    result = run_static_suite(pytester, SHOP / "drawing.yaml")
    # assert: static-only promises passed; those with live claims partly; self-healing not at all
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    found = matrix_of(pytester)
    assert list(found) == [p.key for p in PROMISES]
    static_only = {"namespace", "workloads"}
    assert {found[k] for k in static_only} == {"passed"}
    live_only = {"self-healing", "node-loss", "rolling-updates", "scalability", "config-rollout"}
    assert {found[k] for k in live_only} == {"not verified"}
    assert {v for k, v in found.items() if k not in static_only | live_only} == {"partly verified"}
    html = (pytester.path / "out" / "report.html").read_text()
    assert html.index('id="promise-matrix"') < html.index('id="results-table"')
    assert 'data-promise="persistent-storage"' in html
    assert "each overlay&#x27;s rendered manifests (nothing runs)" in html
    # pytest-html keeps its rows as escaped JSON: the row of the replica check names its promise
    assert "col-promises\\&#34;&gt;high-availability&lt;/td&gt;" in html
    result.stdout.fnmatch_lines(["*promise matrix: 0 failed, 5 not verified, 9 partly*"])


def test_a_shop_whose_manifests_break_a_promise_gets_it_failed(pytester: pytest.Pytester) -> None:
    # arrange: the shop's drawing promising another replica count than its manifests run
    shop = pytester.path / "shop"
    shutil.copytree(SHOP, shop)
    drawing = shop / "drawing.yaml"
    drawing.write_text(drawing.read_text().replace("replicas: 3", "replicas: 2", 1))
    # act
    result = run_static_suite(pytester, drawing)
    # assert
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    found = matrix_of(pytester)
    assert found["high-availability"] == "failed"
    assert found["namespace"] == "passed"
