"""HorizontalPodAutoscalers for the four services, at the drawing's bounds and CPU target."""

from suites.static.checks.autoscaling import autoscaling_violations
from suites.static.controls import assert_caught, assert_holds
from suites.static.manifest import Rendered, main_container


def test_each_service_autoscales_within_the_drawings_bounds(rendered: Rendered) -> None:
    assert_holds(autoscaling_violations(rendered))


def test_an_autoscaler_allowing_one_replica_is_caught(broken: Rendered) -> None:
    # arrange
    broken.one("HorizontalPodAutoscaler", "order-service")["spec"]["minReplicas"] = 1
    # act / assert
    assert_caught(
        autoscaling_violations(broken), "HorizontalPodAutoscaler/order-service has minReplicas 1"
    )


def test_a_missing_autoscaler_is_caught(broken: Rendered) -> None:
    broken.remove("HorizontalPodAutoscaler", "notification-service")
    assert_caught(
        autoscaling_violations(broken), "Deployment/notification-service has 0 autoscalers"
    )


def test_cpu_scaling_without_a_cpu_request_is_caught(broken: Rendered) -> None:
    del main_container(broken.one("Deployment", "api-gateway"))["resources"]["requests"]["cpu"]
    assert_caught(
        autoscaling_violations(broken), "scales on CPU, but Deployment/api-gateway requests none"
    )


def test_an_autoscaler_of_another_maximum_or_cpu_target_is_caught(broken: Rendered) -> None:
    # arrange
    spec = broken.one("HorizontalPodAutoscaler", "inventory-service")["spec"]
    spec["maxReplicas"] += 1
    spec["metrics"][0]["resource"]["target"]["averageUtilization"] += 10
    # act
    violations = autoscaling_violations(broken)
    # assert
    assert_caught(violations, "HorizontalPodAutoscaler/inventory-service has maxReplicas")
    assert_caught(violations, "HorizontalPodAutoscaler/inventory-service has CPU target")
