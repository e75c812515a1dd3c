"""Every container waits in preStop before stopping, within its grace period; the services
built here drain and then finish their requests within it."""

from suites import promises
from suites.static.checks.graceful_shutdown import (
    drain_and_shutdown_violations,
    graceful_shutdown_violations,
    pre_stop_seconds,
)
from suites.static.controls import assert_caught, assert_holds
from suites.static.manifest import Rendered, main_container, pod_spec
from system.common.settings import ServiceSettings

#: The services' own shutdown: how long uvicorn lets requests in flight finish after SIGTERM
#: (the manifests leave the setting at its default).
SHUTDOWN_SECONDS = float(ServiceSettings.model_fields["graceful_shutdown_seconds"].default)
SERVICES = [s.name for s in promises.SERVICES]


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


def test_each_service_drains_and_finishes_its_requests_within_its_grace_period(
    rendered: Rendered,
) -> None:
    assert_holds(drain_and_shutdown_violations(rendered, SERVICES, SHUTDOWN_SECONDS))


def test_a_grace_period_that_fits_the_drain_but_not_the_shutdown_after_it_is_caught(
    broken: Rendered,
) -> None:
    # arrange: api-gateway's grace period longer than its drain, shorter than drain + shutdown
    gateway = broken.one("Deployment", "api-gateway")
    drain = pre_stop_seconds(main_container(gateway))
    assert drain is not None
    pod_spec(gateway)["terminationGracePeriodSeconds"] = drain + 5
    # act / assert: the preStop check alone lets it pass; this one does not
    assert_holds(graceful_shutdown_violations(broken))
    assert_caught(
        drain_and_shutdown_violations(broken, SERVICES, SHUTDOWN_SECONDS),
        f"grace period is only {drain + 5}s",
    )
