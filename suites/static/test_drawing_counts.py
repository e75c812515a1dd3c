"""What the drawing counts, by kubepromises' generic static suite (`kubepromises.static_suite`):
the same tests any drawing gets, run here on this system's drawing and overlays so that its
promise matrix counts them (promises.yaml claims them by name). Each runs once per overlay;
each check has its negative control. `manifests` and `broken` are the generic suite's fixtures
(the overlay's objects as a plain list), not this folder's `broken` (a Rendered copy).
"""

from kubepromises.static_suite import (
    broken,
    manifests,
    test_a_call_the_network_policies_stop_is_caught,
    test_a_missing_configmap_or_secret_is_caught,
    test_a_missing_workload_is_caught,
    test_a_moved_node_port_is_caught,
    test_a_pod_total_beyond_the_drawing_is_caught,
    test_a_volume_of_another_size_is_caught,
    test_a_workload_without_its_service_is_caught,
    test_an_ingress_for_another_host_is_caught,
    test_an_object_outside_the_namespace_is_caught,
    test_an_overlay_of_every_workload_runs_the_drawings_total_of_pods,
    test_an_overlay_without_its_network_policies_is_caught,
    test_another_replica_count_is_caught,
    test_every_node_port_exposes_its_workload,
    test_every_volume_is_claimed_at_the_drawings_size_and_mounted,
    test_every_workload_has_a_service_of_its_name_on_the_drawings_port,
    test_every_workload_runs_the_drawings_replica_count,
    test_everything_lives_in_the_drawings_namespace,
    test_the_configmaps_and_secrets_are_the_drawings_by_name,
    test_the_ingress_routes_the_drawings_host_to_its_workload,
    test_the_network_policies_keep_each_data_store_to_its_callers,
    test_the_network_policies_let_every_call_of_the_drawing_through,
    test_the_overlay_deploys_exactly_the_drawings_workloads,
    test_there_are_at_least_the_drawings_number_of_services,
    test_too_few_services_are_caught,
)

__all__ = [
    "broken",
    "manifests",
    "test_a_call_the_network_policies_stop_is_caught",
    "test_a_missing_configmap_or_secret_is_caught",
    "test_a_missing_workload_is_caught",
    "test_a_moved_node_port_is_caught",
    "test_a_pod_total_beyond_the_drawing_is_caught",
    "test_a_volume_of_another_size_is_caught",
    "test_a_workload_without_its_service_is_caught",
    "test_an_ingress_for_another_host_is_caught",
    "test_an_object_outside_the_namespace_is_caught",
    "test_an_overlay_of_every_workload_runs_the_drawings_total_of_pods",
    "test_an_overlay_without_its_network_policies_is_caught",
    "test_another_replica_count_is_caught",
    "test_every_node_port_exposes_its_workload",
    "test_every_volume_is_claimed_at_the_drawings_size_and_mounted",
    "test_every_workload_has_a_service_of_its_name_on_the_drawings_port",
    "test_every_workload_runs_the_drawings_replica_count",
    "test_everything_lives_in_the_drawings_namespace",
    "test_the_configmaps_and_secrets_are_the_drawings_by_name",
    "test_the_ingress_routes_the_drawings_host_to_its_workload",
    "test_the_network_policies_keep_each_data_store_to_its_callers",
    "test_the_network_policies_let_every_call_of_the_drawing_through",
    "test_the_overlay_deploys_exactly_the_drawings_workloads",
    "test_there_are_at_least_the_drawings_number_of_services",
    "test_too_few_services_are_caught",
]
