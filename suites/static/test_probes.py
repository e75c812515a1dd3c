"""Health checks on every container; the services' on /readyz and /healthz."""

from suites.static.checks.probes import (
    probe_violations,
    service_probe_violations,
    wedged_kill_violations,
)
from suites.static.controls import assert_caught, assert_holds
from suites.static.manifest import Rendered, main_container, pod_spec


def test_every_container_has_startup_readiness_and_liveness_probes(rendered: Rendered) -> None:
    assert_holds(probe_violations(rendered))


def test_services_are_ready_on_readyz_and_alive_on_healthz(rendered: Rendered) -> None:
    assert_holds(service_probe_violations(rendered))


def test_a_missing_readiness_probe_is_caught(broken: Rendered) -> None:
    # arrange
    del main_container(broken.one("Deployment", "inventory-service"))["readinessProbe"]
    # act / assert
    assert_caught(
        probe_violations(broken),
        "Deployment/inventory-service container inventory-service has no readinessProbe",
    )


def test_a_missing_liveness_probe_on_a_database_is_caught(broken: Rendered) -> None:
    del main_container(broken.one("StatefulSet", "order-db"))["livenessProbe"]
    assert_caught(
        probe_violations(broken), "StatefulSet/order-db container postgres has no livenessProbe"
    )


def test_a_probe_on_a_port_the_container_does_not_expose_is_caught(broken: Rendered) -> None:
    main_container(broken.one("Deployment", "kibana"))["livenessProbe"]["tcpSocket"]["port"] = 5602
    assert_caught(probe_violations(broken), "checks port 5602, which it does not expose")


def test_a_service_readiness_probe_on_healthz_is_caught(broken: Rendered) -> None:
    main_container(broken.one("Deployment", "order-service"))["readinessProbe"]["httpGet"][
        "path"
    ] = "/healthz"
    assert_caught(
        service_probe_violations(broken), "order-service readinessProbe gets /healthz, not /readyz"
    )


def test_a_wedged_service_process_is_killed_soon_after_its_liveness_probe_fails(
    rendered: Rendered,
) -> None:
    assert_holds(wedged_kill_violations(rendered))


def test_a_liveness_probe_without_its_own_grace_period_is_caught(broken: Rendered) -> None:
    gateway = broken.one("Deployment", "api-gateway")
    del main_container(gateway)["livenessProbe"]["terminationGracePeriodSeconds"]
    grace = pod_spec(gateway)["terminationGracePeriodSeconds"]
    assert_caught(
        wedged_kill_violations(broken),
        "api-gateway livenessProbe has no terminationGracePeriodSeconds: a wedged process is "
        f"killed after the pod's {grace} s",
    )
