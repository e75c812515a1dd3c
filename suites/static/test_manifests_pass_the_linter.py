"""Every overlay passes a maintained manifest linter (kube-score): each finding is fixed in the
manifests or accepted, with its reason, in manifests/lint-accepted.yaml, and nothing is accepted
that no longer occurs.

Without the pinned kube-score the tests fail (they are not skipped) with the command that
provides it.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from suites.static import kube_score
from suites.static.checks.lint_findings import (
    Accepted,
    load_accepted,
    stale_violations,
    unaccepted_violations,
)
from suites.static.controls import assert_caught, assert_holds
from suites.static.kube_score import Finding, LinterMissingError, lint
from suites.static.manifest import Rendered, main_container

#: An accepted deviation the control below pretends is fixed.
ACCEPTED_CHECK, ACCEPTED_OBJECT = "deployment-replicas", "Deployment/localstack"
HPA_CHECK = "deployment-targeted-by-hpa-does-not-have-replicas-configured"


@pytest.fixture(scope="module")
def linter() -> Path:
    """The pinned kube-score; a machine without it errors here, naming the command."""
    return kube_score.binary()


@pytest.fixture(scope="module")
def findings(linter: Path, rendered_overlays: dict[str, Rendered]) -> dict[str, list[Finding]]:
    """kube-score's findings on each overlay, linted once."""
    return {name: lint(overlay.objects, linter) for name, overlay in rendered_overlays.items()}


@pytest.fixture(scope="module")
def accepted() -> list[Accepted]:
    return load_accepted()


def test_every_finding_of_the_linter_is_fixed_or_accepted_with_its_reason(
    rendered: Rendered, findings: dict[str, list[Finding]], accepted: list[Accepted]
) -> None:
    assert_holds(unaccepted_violations(rendered.overlay, findings[rendered.overlay], accepted))


def test_every_accepted_deviation_still_occurs(
    findings: dict[str, list[Finding]], accepted: list[Accepted]
) -> None:
    assert_holds(stale_violations(findings, accepted))


def test_a_container_without_limits_is_caught(
    broken: Rendered, linter: Path, accepted: list[Accepted]
) -> None:
    # arrange
    del main_container(broken.one("Deployment", "order-service"))["resources"]["limits"]
    # act
    violations = unaccepted_violations(broken.overlay, lint(broken.objects, linter), accepted)
    # assert
    assert_caught(violations, "check container-resources fails on Deployment/order-service")


def test_identical_readiness_and_liveness_probes_are_caught(
    broken: Rendered, linter: Path, accepted: list[Accepted]
) -> None:
    # arrange: LocalStack's liveness probe made its readiness probe again
    container = main_container(broken.one("Deployment", "localstack"))
    container["livenessProbe"] = copy.deepcopy(container["readinessProbe"])
    # act
    violations = unaccepted_violations(broken.overlay, lint(broken.objects, linter), accepted)
    # assert
    assert_caught(violations, "check pod-probes-identical fails on Deployment/localstack")


def test_an_accepted_deviation_that_no_longer_occurs_is_caught(
    findings: dict[str, list[Finding]], accepted: list[Accepted]
) -> None:
    # arrange: the findings as if LocalStack ran two replicas
    fixed = {
        overlay: [f for f in found if f.key != (ACCEPTED_CHECK, ACCEPTED_OBJECT)]
        for overlay, found in findings.items()
    }
    # act / assert
    assert_caught(
        stale_violations(fixed, accepted), f"accepts {ACCEPTED_CHECK} on {ACCEPTED_OBJECT}"
    )


def test_a_replica_count_beside_an_autoscaler_is_caught_by_the_linter_too(
    broken: Rendered, linter: Path, accepted: list[Accepted]
) -> None:
    # arrange: order-service's Deployment pins a count while its autoscaler owns it
    broken.one("Deployment", "order-service")["spec"]["replicas"] = 2
    # act
    violations = unaccepted_violations(broken.overlay, lint(broken.objects, linter), accepted)
    # assert
    assert_caught(violations, f"check {HPA_CHECK} fails on Deployment/order-service")


def test_a_mistake_in_the_accepted_file_is_named(tmp_path: Path) -> None:
    # arrange: an entry without its reason
    path = tmp_path / "lint-accepted.yaml"
    path.write_text("accepted:\n  - check: service-type\n    objects: [Service/redis]\n")
    # act / assert
    with pytest.raises(ValueError, match=r"accepted\[0\] \(service-type\) needs `reason`"):
        load_accepted(path)


def test_a_machine_without_the_linter_is_told_how_to_provide_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # arrange: the cache is empty and no override is set
    monkeypatch.delenv("DEMO_MICRO_KUBE_SCORE", raising=False)
    monkeypatch.setenv("DEMO_MICRO_CACHE", str(tmp_path))
    # act / assert
    with pytest.raises(LinterMissingError, match=r"python -m testbed setup fast"):
        kube_score.binary()
