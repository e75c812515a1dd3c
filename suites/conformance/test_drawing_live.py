"""What the drawing promises of the running cluster, by kubepromises' generic live suite
(`kubepromises.live_suite`): the same tests any drawing gets, run here on the testbed so that
this system's promise matrix counts them (promises.yaml claims them by name). Each check reads
the namespace as the API reports it, and has its negative control on a broken copy of that
state. The generic suite's self-healing test is left to `suites/resilience/test_self_healing.py`,
which deletes pods under traffic and counts the failed requests too.
"""

import pytest

from kubepromises.live_suite import (
    observed,
    test_every_node_port_accepts_connections_on_every_node,
    test_every_service_sends_to_each_ready_replica_and_no_other,
    test_every_volume_is_a_bound_claim_of_its_size,
    test_every_workload_has_its_replicas_ready,
    test_negative_control_a_missing_configmap_fails_the_configuration_check,
    test_negative_control_a_pending_claim_fails_the_volume_check,
    test_negative_control_a_port_nothing_serves_fails_the_node_port_check,
    test_negative_control_a_replica_left_out_of_its_service_fails_the_endpoint_check,
    test_negative_control_a_replica_not_ready_fails_the_replica_check,
    test_negative_control_replicas_on_one_node_fail_the_spread_check,
    test_replicas_run_on_different_nodes,
    test_the_drawings_configmaps_and_secrets_exist,
)

pytestmark = pytest.mark.cluster

__all__ = [
    "observed",
    "test_every_node_port_accepts_connections_on_every_node",
    "test_every_service_sends_to_each_ready_replica_and_no_other",
    "test_every_volume_is_a_bound_claim_of_its_size",
    "test_every_workload_has_its_replicas_ready",
    "test_negative_control_a_missing_configmap_fails_the_configuration_check",
    "test_negative_control_a_pending_claim_fails_the_volume_check",
    "test_negative_control_a_port_nothing_serves_fails_the_node_port_check",
    "test_negative_control_a_replica_left_out_of_its_service_fails_the_endpoint_check",
    "test_negative_control_a_replica_not_ready_fails_the_replica_check",
    "test_negative_control_replicas_on_one_node_fail_the_spread_check",
    "test_replicas_run_on_different_nodes",
    "test_the_drawings_configmaps_and_secrets_exist",
]
