"""Requests and limits on every container, within what a 2-core machine can hold."""

from suites.static.checks.resources import budget_violations, resource_violations
from suites.static.controls import assert_caught, assert_holds
from suites.static.manifest import Rendered, main_container


def test_every_container_has_cpu_and_memory_requests_and_limits(rendered: Rendered) -> None:
    assert_holds(resource_violations(rendered))


def test_the_whole_overlay_fits_a_two_core_machine(rendered: Rendered) -> None:
    assert_holds(budget_violations(rendered))


def test_a_missing_memory_limit_is_caught(broken: Rendered) -> None:
    # arrange
    del main_container(broken.one("Deployment", "notification-service"))["resources"]["limits"][
        "memory"
    ]
    # act / assert
    assert_caught(resource_violations(broken), "container notification-service has no memory limit")


def test_an_init_container_without_resources_is_caught(broken: Rendered) -> None:
    del broken.one("Deployment", "kibana")["spec"]["template"]["spec"]["initContainers"][0][
        "resources"
    ]
    assert_caught(
        resource_violations(broken), "container set-kibana-system-password has no cpu request"
    )


def test_a_request_above_its_limit_is_caught(broken: Rendered) -> None:
    main_container(broken.one("StatefulSet", "redis"))["resources"]["requests"]["memory"] = "1Gi"
    assert_caught(resource_violations(broken), "requests more memory (1Gi) than its limit (256Mi)")


def test_cpu_requests_beyond_the_machine_are_caught(broken: Rendered) -> None:
    main_container(broken.one("StatefulSet", "elasticsearch"))["resources"]["requests"]["cpu"] = "2"
    assert_caught(budget_violations(broken), "CPU requests total")
