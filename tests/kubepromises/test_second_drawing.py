"""A second architecture, checked by the same generic static suite with no Python of its own.

`examples/shop/` holds a drawing (two services, a database, a cache), its manifests (a
kustomization of plain YAML files, and an air-gapped overlay over it) and its services' images;
no Python of the package's. The inner runs are what a user types:
``pytest --pyargs kubepromises.static_suite --drawing examples/shop/drawing.yaml``. The negative
controls change one value of the drawing (not the manifests) and the suite must fail, naming
that value's field and line.
"""

from __future__ import annotations

import shlex
import shutil
from pathlib import Path

import pytest

from suites.static.render import renderer
from tests.kubepromises.example import SHOP

pytest_plugins = ["pytester"]


#: The inner runs share this process, where the plugin's package is imported already, so pytest
#: warns that it cannot rewrite its asserts; nothing else differs.
ALREADY_IMPORTED = "ignore::pytest.PytestAssertRewriteWarning"


def run_static_suite(pytester: pytest.Pytester, drawing: Path) -> pytest.RunResult:
    return pytester.runpytest_inprocess(
        "-p",
        "no:cacheprovider",
        "-W",
        ALREADY_IMPORTED,
        "--pyargs",
        "kubepromises.static_suite",
        f"--drawing={drawing}",
        # The shop's overlays are kustomizations: this project's kustomize, as suites/static's.
        f"--kustomize={shlex.join(renderer())}",
    )


def edited_shop(folder: Path, old: str, new: str) -> tuple[Path, int]:
    """The shop copied into `folder` with `old` (once in its drawing) replaced; the line."""
    shutil.copytree(SHOP, folder)
    drawing = folder / "drawing.yaml"
    text = drawing.read_text()
    assert text.count(old) == 1, f"{old!r} is not unique in the shop's drawing"
    drawing.write_text(text.replace(old, new))
    return drawing, text[: text.index(old)].count("\n") + 1


def test_the_shop_keeps_every_promise_of_its_drawing(pytester: pytest.Pytester) -> None:
    # act
    result = run_static_suite(pytester, SHOP / "drawing.yaml")
    # assert: every check and every negative control passed; nothing skipped
    outcomes = result.parseoutcomes()
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    assert set(outcomes) == {"passed"}, outcomes
    assert outcomes["passed"] == 64  # 32 per overlay: plain and offline


def test_a_drawing_promising_other_replicas_fails_naming_the_field(
    pytester: pytest.Pytester,
) -> None:
    # arrange: the drawing says 2 storefront replicas, its manifests' autoscaler keeps 3
    drawing, line = edited_shop(pytester.path / "shop", "replicas: 3", "replicas: 2")
    # act
    result = run_static_suite(pytester, drawing)
    # assert: in both overlays, the count and the autoscaler's minimum
    result.assert_outcomes(passed=60, failed=4)
    result.stdout.fnmatch_lines(
        [
            f"*Deployment/storefront has 3 replicas; drawing.yaml:{line}: "
            "services[[]0[]].replicas is 2*",
            "*FAILED*test_every_workload_runs_the_drawings_replica_count[[]plain[]]*",
            "*FAILED*test_every_workload_runs_the_drawings_replica_count[[]offline[]]*",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            f"*HorizontalPodAutoscaler/storefront has minReplicas 3; drawing.yaml:{line}: "
            "services[[]0[]].replicas is 2*",
        ]
    )


def test_a_drawing_promising_another_autoscaling_maximum_fails_naming_the_field(
    pytester: pytest.Pytester,
) -> None:
    # arrange: the drawing lets storefront grow to 6 replicas, its autoscaler to 5
    drawing, line = edited_shop(
        pytester.path / "shop", "autoscaling: {max: 5", "autoscaling: {max: 6"
    )
    # act
    result = run_static_suite(pytester, drawing)
    # assert: the check fails in both overlays; its negative controls still pass
    result.assert_outcomes(passed=62, failed=2)
    result.stdout.fnmatch_lines(
        [
            f"*HorizontalPodAutoscaler/storefront has maxReplicas 5; drawing.yaml:{line}: "
            "services[[]0[]].autoscaling.max is 6*",
            "*FAILED*test_every_autoscaled_workload_has_the_drawings_autoscaler_*[[]plain[]]*",
            "*FAILED*test_every_autoscaled_workload_has_the_drawings_autoscaler_*[[]offline[]]*",
        ]
    )


def test_a_drawing_promising_another_volume_size_fails_naming_the_field(
    pytester: pytest.Pytester,
) -> None:
    # arrange: the drawing says 4Gi for the database's volume, its manifests claim 3Gi
    drawing, line = edited_shop(pytester.path / "shop", "size: 3Gi", "size: 4Gi")
    # act
    result = run_static_suite(pytester, drawing)
    # assert: the check fails in both overlays; its negative control (another size again)
    # still passes
    result.assert_outcomes(passed=62, failed=2)
    result.stdout.fnmatch_lines(
        [
            f"*checkout-db-data (data-checkout-db-0) requests 3Gi; drawing.yaml:{line}: "
            "volumes[[]0[]].size is 4Gi*",
            "*FAILED*test_every_volume_is_claimed_at_the_drawings_size_and_mounted[[]plain[]]*",
            "*FAILED*test_every_volume_is_claimed_at_the_drawings_size_and_mounted[[]offline[]]*",
        ]
    )


def test_an_overlay_whose_manifests_folder_is_missing_fails_naming_it(
    pytester: pytest.Pytester,
) -> None:
    # arrange
    drawing, _ = edited_shop(pytester.path / "shop", "manifests: manifests", "manifests: gone")
    # act
    result = run_static_suite(pytester, drawing)
    # assert: every test that needs the objects errors, with the reason and no traceback
    outcomes = result.parseoutcomes()
    assert "passed" not in outcomes, outcomes
    assert outcomes["errors"] == 64, outcomes
    result.stdout.fnmatch_lines(
        ["*overlay 'plain': the manifests folder */shop/gone does not exist"]
    )
    assert "Traceback" not in result.stdout.str()
