"""Replicas: each Deployment runs its promised ready replicas, spread over different nodes."""

from __future__ import annotations

import pytest

from suites import promises
from suites.resilience.live import selector
from testbed.kube import Kube, is_ready

pytestmark = pytest.mark.cluster

OVERLAY = "offline"  # what .ci/run deploys


@pytest.mark.parametrize("service", promises.SERVICES, ids=lambda s: s.name)
def test_each_deployment_runs_its_ready_replicas_on_different_nodes(
    kube: Kube, service: promises.Workload
) -> None:
    # arrange: the schedulable nodes (the control plane is tainted)
    nodes = [n for n, ready in kube.nodes_ready().items() if ready]

    # act: where the Deployment's ready pods run
    pods = [p for p in kube.pods(selector(service.name)) if is_ready(p)]
    placement = {p.metadata.name: p.spec.node_name for p in pods}

    # assert: the promised count, one node each while there are enough workers
    assert len(pods) == service.replicas, placement
    workers = len(nodes) - 1 if len(nodes) > 1 else 1
    assert len(set(placement.values())) == min(service.replicas, workers), placement


def test_every_statefulset_is_ready(kube: Kube) -> None:
    # arrange: the StatefulSets the overlay promises
    expected = {w.name for w in promises.workloads_in(OVERLAY) if w.kind == "StatefulSet"}

    # act
    states = {s.name: s for s in kube.workloads() if s.kind == "StatefulSet"}

    # assert
    assert set(states) >= expected, f"missing: {expected - set(states)}"
    assert all(states[name].rolled_out for name in expected), [str(s) for s in states.values()]
