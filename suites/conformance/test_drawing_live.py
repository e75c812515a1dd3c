"""What the drawing promises of the running cluster, by kubepromises' generic live suite
(`kubepromises.live_suite`): the same tests any drawing gets, run here on the testbed so that
this system's promise matrix counts them (promises.yaml claims them by name). Each check reads
the namespace as the API reports it, and has its negative control on a broken copy of that
state; the spread check has one more here, on the real cluster: a service pinned to one node.
The generic suite's self-healing test is left to `suites/resilience/test_self_healing.py`,
which deletes pods under traffic and counts the failed requests too.
"""

from typing import Any

import pytest

from kubepromises.drawing import Drawing
from kubepromises.live import observe, spread_violations
from kubepromises.live_suite import (
    connect,
    memory_readings,
    observed,
    test_each_data_store_accepts_its_callers_only,
    test_every_call_of_the_drawing_connects_from_its_callers_pod,
    test_every_container_runs_with_its_manifests_memory_limit,
    test_every_node_port_accepts_connections_on_every_node,
    test_every_service_sends_to_each_ready_replica_and_no_other,
    test_every_volume_is_a_bound_claim_of_its_size,
    test_every_workload_has_its_replicas_ready,
    test_negative_control_a_call_the_drawing_leaves_out_fails_the_isolation_check,
    test_negative_control_a_call_to_a_name_without_a_service_fails_the_call_check,
    test_negative_control_a_missing_configmap_fails_the_configuration_check,
    test_negative_control_a_pending_claim_fails_the_volume_check,
    test_negative_control_a_port_nothing_serves_fails_the_node_port_check,
    test_negative_control_a_replica_left_out_of_its_service_fails_the_endpoint_check,
    test_negative_control_a_replica_not_ready_fails_the_replica_check,
    test_negative_control_another_memory_limit_in_the_manifests_fails_the_limit_check,
    test_negative_control_replicas_on_one_node_fail_the_spread_check,
    test_replicas_run_on_different_nodes,
    test_the_drawings_configmaps_and_secrets_exist,
)
from kubepromises.static import assert_caught
from suites import promises
from suites.resilience.live import deployment_restored, wait_rolled_out
from testbed.kube import Kube

pytestmark = pytest.mark.cluster

__all__ = [
    "connect",
    "memory_readings",
    "observed",
    "test_each_data_store_accepts_its_callers_only",
    "test_every_call_of_the_drawing_connects_from_its_callers_pod",
    "test_every_container_runs_with_its_manifests_memory_limit",
    "test_every_node_port_accepts_connections_on_every_node",
    "test_every_service_sends_to_each_ready_replica_and_no_other",
    "test_every_volume_is_a_bound_claim_of_its_size",
    "test_every_workload_has_its_replicas_ready",
    "test_negative_control_a_call_the_drawing_leaves_out_fails_the_isolation_check",
    "test_negative_control_a_call_to_a_name_without_a_service_fails_the_call_check",
    "test_negative_control_a_missing_configmap_fails_the_configuration_check",
    "test_negative_control_a_pending_claim_fails_the_volume_check",
    "test_negative_control_a_port_nothing_serves_fails_the_node_port_check",
    "test_negative_control_a_replica_left_out_of_its_service_fails_the_endpoint_check",
    "test_negative_control_a_replica_not_ready_fails_the_replica_check",
    "test_negative_control_another_memory_limit_in_the_manifests_fails_the_limit_check",
    "test_negative_control_replicas_on_one_node_fail_the_spread_check",
    "test_replicas_run_on_different_nodes",
    "test_the_drawings_configmaps_and_secrets_exist",
]


def test_negative_control_replicas_pinned_to_one_node_fail_the_spread_check(
    kube: Kube, live_api: Any, drawing: Drawing, live_overlay: str
) -> None:
    # arrange: notification-service's pods pinned to one worker (a nodeSelector), rolled out
    service = next(s for s in promises.SERVICES if s.name == "notification-service")
    workers = sorted(n for n in kube.nodes_ready() if "control-plane" not in n)
    if len(workers) < 2:
        pytest.skip("one worker: the spread promise is about several")
    with deployment_restored(kube, service.name):
        pin = {"kubernetes.io/hostname": workers[0]}
        kube.patch_deployment(service.name, {"spec": {"template": {"spec": {"nodeSelector": pin}}}})
        wait_rolled_out(kube, service.name)

        # act
        violations = spread_violations(drawing, live_overlay, observe(live_api, kube.namespace))

        # assert: the generic check names the co-located replicas
        assert_caught(violations, f"Deployment/{service.name}'s Ready replicas share nodes")
