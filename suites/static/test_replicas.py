"""Replica counts: two per service, one per database and supporting component. A service's
count is its autoscaler's minimum, and its Deployment leaves `replicas` to the autoscaler
(kubepromises.static.replicas; the generic suite's check that the autoscaler alone owns the
count runs in test_drawing_counts.py)."""

from suites.static.checks.replicas import replica_violations
from suites.static.controls import assert_caught, assert_holds
from suites.static.manifest import Rendered


def test_every_workload_runs_the_drawings_replica_count(rendered: Rendered) -> None:
    assert_holds(replica_violations(rendered))


def test_a_service_whose_autoscaler_allows_one_replica_is_caught(broken: Rendered) -> None:
    # arrange
    broken.one("HorizontalPodAutoscaler", "order-service")["spec"]["minReplicas"] = 1
    # act / assert
    assert_caught(replica_violations(broken), "Deployment/order-service has 1 replicas")


def test_a_service_without_its_autoscaler_runs_one_replica_and_is_caught(
    broken: Rendered,
) -> None:
    # arrange: the autoscaler gone, the Deployment left without a count of its own
    broken.remove("HorizontalPodAutoscaler", "api-gateway")
    # act / assert
    assert_caught(replica_violations(broken), "Deployment/api-gateway has 1 replicas")


def test_a_database_with_another_count_is_caught(broken: Rendered) -> None:
    broken.one("StatefulSet", "order-db")["spec"]["replicas"] = 2
    assert_caught(replica_violations(broken), "StatefulSet/order-db has 2 replicas")
