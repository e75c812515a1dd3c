"""Every container waits in preStop before stopping, within its grace period."""

from suites.static.checks.graceful_shutdown import graceful_shutdown_violations
from suites.static.controls import assert_caught, assert_holds
from suites.static.manifest import Rendered, main_container, pod_spec


def test_every_container_has_a_prestop_delay_shorter_than_its_grace_period(
    rendered: Rendered,
) -> None:
    assert_holds(graceful_shutdown_violations(rendered))


def test_a_container_without_prestop_is_caught(broken: Rendered) -> None:
    # arrange
    del main_container(broken.one("Deployment", "api-gateway"))["lifecycle"]
    # act / assert
    assert_caught(
        graceful_shutdown_violations(broken), "container api-gateway has no preStop delay"
    )


def test_a_grace_period_shorter_than_the_delay_is_caught(broken: Rendered) -> None:
    pod_spec(broken.one("Deployment", "order-service"))["terminationGracePeriodSeconds"] = 5
    assert_caught(
        graceful_shutdown_violations(broken),
        "sleeps 5s before stopping, but the grace period is only 5s",
    )


def test_a_shell_sleep_counts_as_a_prestop_delay(broken: Rendered) -> None:
    main_container(broken.one("Deployment", "api-gateway"))["lifecycle"]["preStop"] = {
        "exec": {"command": ["/bin/sh", "-c", "sleep 5"]}
    }
    assert_holds(graceful_shutdown_violations(broken))
