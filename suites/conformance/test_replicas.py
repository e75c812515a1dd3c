"""Replicas: each Deployment runs its promised ready replicas, spread over different nodes."""

from __future__ import annotations

import pytest

from suites import promises
from suites.resilience.live import deployment_restored, selector, wait_rolled_out
from testbed.kube import Kube, is_ready

pytestmark = pytest.mark.cluster


def assert_ready_replicas_spread(kube: Kube, service: promises.Workload) -> None:
    """The promised count of ready pods, one node each while there are enough workers."""
    # the schedulable nodes (the control plane is tainted)
    nodes = [n for n, ready in kube.nodes_ready().items() if ready]
    pods = [p for p in kube.pods(selector(service.name)) if is_ready(p)]
    placement = {p.metadata.name: p.spec.node_name for p in pods}
    assert len(pods) == service.replicas, placement
    workers = len(nodes) - 1 if len(nodes) > 1 else 1
    assert len(set(placement.values())) == min(service.replicas, workers), placement


@pytest.mark.parametrize("service", promises.SERVICES, ids=lambda s: s.name)
def test_each_deployment_runs_its_ready_replicas_on_different_nodes(
    kube: Kube, service: promises.Workload
) -> None:
    assert_ready_replicas_spread(kube, service)


def test_negative_control_replicas_pinned_to_one_node_fail_the_spread_check(kube: Kube) -> None:
    # arrange: the notification-service's pods pinned to one worker (a nodeSelector), rolled out
    service = next(s for s in promises.SERVICES if s.name == "notification-service")
    workers = sorted(n for n in kube.nodes_ready() if "control-plane" not in n)
    if len(workers) < 2:
        pytest.skip("one worker: the spread promise is about several")
    with deployment_restored(kube, service.name):
        pin = {"kubernetes.io/hostname": workers[0]}
        kube.patch_deployment(service.name, {"spec": {"template": {"spec": {"nodeSelector": pin}}}})
        wait_rolled_out(kube, service.name)

        # act + assert: the same check reports the co-located replicas
        with pytest.raises(AssertionError, match=workers[0]):
            assert_ready_replicas_spread(kube, service)


def test_every_statefulset_is_ready(kube: Kube, overlay: str) -> None:
    # arrange: the StatefulSets the overlay promises
    expected = {w.name for w in promises.workloads_in(overlay) if w.kind == "StatefulSet"}

    # act
    states = {s.name: s for s in kube.workloads() if s.kind == "StatefulSet"}

    # assert
    assert set(states) >= expected, f"missing: {expected - set(states)}"
    assert all(states[name].rolled_out for name in expected), [str(s) for s in states.values()]
