"""Replicated workloads survive drains (PDBs) and node loss (spread across nodes)."""

from suites.static.checks.availability import (
    disruption_budget_violations,
    node_loss_violations,
    spreading_violations,
)
from suites.static.controls import assert_caught, assert_holds
from suites.static.manifest import Rendered, pod_spec


def test_every_replicated_workload_has_a_disruption_budget_of_one(rendered: Rendered) -> None:
    assert_holds(disruption_budget_violations(rendered))


def test_replicas_prefer_different_nodes_but_still_fit_on_one(rendered: Rendered) -> None:
    assert_holds(spreading_violations(rendered))


def test_a_missing_disruption_budget_is_caught(broken: Rendered) -> None:
    # arrange
    broken.remove("PodDisruptionBudget", "inventory-service")
    # act / assert
    assert_caught(
        disruption_budget_violations(broken),
        "Deployment/inventory-service has no PodDisruptionBudget",
    )


def test_a_budget_that_blocks_every_eviction_is_caught(broken: Rendered) -> None:
    broken.one("PodDisruptionBudget", "api-gateway")["spec"]["minAvailable"] = 2
    assert_caught(
        disruption_budget_violations(broken), "PodDisruptionBudget/api-gateway has minAvailable 2"
    )


def test_replicas_without_a_spread_are_caught(broken: Rendered) -> None:
    del pod_spec(broken.one("Deployment", "notification-service"))["topologySpreadConstraints"]
    assert_caught(spreading_violations(broken), "Deployment/notification-service does not spread")


def test_a_hard_spread_is_caught(broken: Rendered) -> None:
    constraint = pod_spec(broken.one("Deployment", "order-service"))["topologySpreadConstraints"][0]
    constraint["whenUnsatisfiable"] = "DoNotSchedule"
    assert_caught(
        spreading_violations(broken), "Deployment/order-service has a hard spreading rule"
    )


def test_replicas_leave_a_lost_node_within_a_minute(rendered: Rendered) -> None:
    assert_holds(node_loss_violations(rendered))


def test_the_default_five_minutes_on_a_lost_node_is_caught(broken: Rendered) -> None:
    del pod_spec(broken.one("Deployment", "api-gateway"))["tolerations"]
    assert_caught(
        node_loss_violations(broken),
        "Deployment/api-gateway stays on a node with node.kubernetes.io/unreachable",
    )
