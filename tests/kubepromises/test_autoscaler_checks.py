"""The autoscaling checks (`kubepromises.autoscaling`) on states written here, without a cluster.

The shop draws one autoscaled service (storefront). Each check holds on a healthy state and
names each breakage it exists for: an autoscaler without metrics, one whose target is gone, none
at all, a service that did not scale out. The spec changes the live tests make (its CPU target
lowered, the autoscaler detached) keep the rest of the spec.
"""

from __future__ import annotations

import copy
import dataclasses

import pytest

from kubepromises import autoscaling
from kubepromises.drawing import Drawing, Workload
from kubepromises.live import Observed
from kubepromises.static import Obj, assert_caught, assert_holds


@pytest.fixture(scope="module")
def storefront(shop: Drawing, overlay: str) -> Workload:
    (service,) = [s for s in shop.services if shop.autoscaled(overlay, s) is not None]
    return service


def deployment(name: str) -> Obj:
    return {
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {"selector": {"matchLabels": {"app": name}}},
    }


def autoscaler(name: str, cpu: int | None) -> Obj:
    current = {"averageUtilization": cpu, "averageValue": "5m"}
    metrics = [{"type": "Resource", "resource": {"name": "cpu", "current": current}}]
    return {
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": 3,
            "maxReplicas": 5,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": 80},
                    },
                }
            ],
        },
        "status": {"currentMetrics": metrics if cpu is not None else None},
    }


def workloads(drawing: Drawing, overlay: str) -> list[Obj]:
    return [deployment(w.name) for w in drawing.workloads_in(overlay)]


def ready(workload: str, count: int) -> Observed:
    pods = tuple(
        {
            "kind": "Pod",
            "metadata": {"name": f"{workload}-{i}", "labels": {"app": workload}},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]},
        }
        for i in range(count)
    )
    return Observed(
        pods=pods,
        workloads=(deployment(workload),),
        endpoint_slices=(),
        claims=(),
        configmaps=frozenset(),
        secrets=frozenset(),
        nodes=(),
    )


def test_an_autoscaler_reporting_cpu_use_holds(
    shop: Drawing, overlay: str, storefront: Workload
) -> None:
    found = [autoscaler(storefront.name, cpu=12)]
    assert_holds(autoscaling.metric_violations(shop, overlay, workloads(shop, overlay), found))
    assert autoscaling.current_cpu(found[0]) == 12


def test_an_autoscaler_without_metrics_is_caught_with_its_own_reason(
    shop: Drawing, overlay: str, storefront: Workload
) -> None:
    # arrange: no reading, and the autoscaler says why
    silent = autoscaler(storefront.name, cpu=None)
    silent["status"]["conditions"] = [
        {
            "type": "ScalingActive",
            "status": "False",
            "reason": "FailedGetResourceMetric",
            "message": "unable to get metrics for resource cpu",
        }
    ]
    # act
    violations = autoscaling.metric_violations(shop, overlay, workloads(shop, overlay), [silent])
    # assert
    assert_caught(
        violations,
        f"HorizontalPodAutoscaler/{storefront.name} reports no CPU use of "
        f"Deployment/{storefront.name}'s pods (status.currentMetrics: None): "
        "FailedGetResourceMetric",
    )


def test_an_autoscaler_whose_target_does_not_exist_is_caught(
    shop: Drawing, overlay: str, storefront: Workload
) -> None:
    # arrange: the autoscaler, but not the Deployment it targets
    running = [w for w in workloads(shop, overlay) if w["metadata"]["name"] != storefront.name]
    # act
    violations = autoscaling.metric_violations(
        shop, overlay, running, [autoscaler(storefront.name, cpu=12)]
    )
    # assert
    assert_caught(
        violations,
        f"HorizontalPodAutoscaler/{storefront.name} targets Deployment/{storefront.name}, "
        "which does not exist",
    )


def test_a_drawn_autoscaler_that_is_missing_is_caught(
    shop: Drawing, overlay: str, storefront: Workload
) -> None:
    violations = autoscaling.metric_violations(shop, overlay, workloads(shop, overlay), [])
    assert_caught(violations, f"no autoscaler targets Deployment/{storefront.name}")


def test_a_service_above_its_floor_has_scaled_out_and_one_at_it_has_not(
    storefront: Workload,
) -> None:
    # the check holds once a replica above the floor is Ready
    assert_holds(autoscaling.scale_out_violations(storefront, ready(storefront.name, 4), 3))
    # control: at the floor, the check names the service
    assert_caught(
        autoscaling.scale_out_violations(storefront, ready(storefront.name, 3), 3),
        f"Deployment/{storefront.name} has 3 replicas Ready, not above 3",
    )


def test_the_lowered_cpu_target_changes_only_the_target() -> None:
    # arrange
    saved = autoscaler("storefront", cpu=None)["spec"]
    saved["metrics"].append({"type": "Pods", "pods": {"metric": {"name": "queue"}}})
    before = copy.deepcopy(saved)
    # act
    lowered = autoscaling.with_cpu_target(saved, autoscaling.LOAD_TARGET_PERCENT)
    # assert: the saved spec untouched; the copy's CPU target alone is new
    assert saved == before
    cpu = [m for m in lowered["metrics"] if m["type"] == "Resource"]
    assert cpu == [
        {
            "type": "Resource",
            "resource": {
                "name": "cpu",
                "target": {"type": "Utilization", "averageUtilization": 1},
            },
        }
    ]
    assert {k: v for k, v in lowered.items() if k != "metrics"} == {
        k: v for k, v in saved.items() if k != "metrics"
    }
    assert {"type": "Pods", "pods": {"metric": {"name": "queue"}}} in lowered["metrics"]


def test_a_detached_autoscaler_targets_no_workload_and_keeps_the_rest() -> None:
    # arrange
    saved = autoscaler("storefront", cpu=None)["spec"]
    before = copy.deepcopy(saved)
    # act
    changed = autoscaling.detached(saved)
    # assert: the target's name alone is new, and names no workload of the shop
    assert saved == before
    assert changed["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": f"storefront{autoscaling.DETACHED}",
    }
    assert {k: v for k, v in changed.items() if k != "scaleTargetRef"} == {
        k: v for k, v in saved.items() if k != "scaleTargetRef"
    }


def test_a_drawing_without_autoscaling_has_nothing_to_check(shop: Drawing, overlay: str) -> None:
    # arrange: the shop as if it drew no autoscaler
    plain = dataclasses.replace(
        shop, services=tuple(dataclasses.replace(s, autoscaling=None) for s in shop.services)
    )
    # act / assert: no autoscaler is asked for
    assert autoscaling.metric_violations(plain, overlay, workloads(plain, overlay), []) == []
