"""Replica counts: two per service, one per database and supporting component."""

from suites.static.checks.replicas import replica_violations
from suites.static.controls import assert_caught, assert_holds
from suites.static.manifest import Rendered


def test_every_workload_runs_the_drawings_replica_count(rendered: Rendered) -> None:
    assert_holds(replica_violations(rendered))


def test_a_service_with_one_replica_is_caught(broken: Rendered) -> None:
    # arrange
    broken.one("Deployment", "order-service")["spec"]["replicas"] = 1
    # act / assert
    assert_caught(replica_violations(broken), "Deployment/order-service has 1 replicas")


def test_a_service_without_a_replica_count_is_caught(broken: Rendered) -> None:
    del broken.one("Deployment", "api-gateway")["spec"]["replicas"]
    assert_caught(replica_violations(broken), "Deployment/api-gateway has 1 replicas")
