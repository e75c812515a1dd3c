"""Scaling: a Deployment scaled to 4 and back to its promised size fails no request."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from suites import promises
from suites.resilience.live import record, selector, wait_pods_gone, wait_rolled_out
from testbed.kube import Kube
from testbed.traffic import EVERY_BACKEND, TrafficProbe

pytestmark = pytest.mark.cluster

SCALED_OUT = 4  # the HorizontalPodAutoscalers' maximum
RATE = 40.0


@pytest.fixture
def service(kube: Kube, request: pytest.FixtureRequest) -> Iterator[promises.Workload]:
    """The Deployment, scaled back to its promised replicas whatever the test did."""
    workload: promises.Workload = request.param
    wait_rolled_out(kube, workload.name)
    yield workload
    kube.scale("Deployment", workload.name, workload.replicas)
    wait_rolled_out(kube, workload.name)


@pytest.mark.parametrize("service", promises.SERVICES, indirect=True, ids=lambda s: s.name)
def test_scaling_a_deployment_to_4_and_back_fails_no_request(
    kube: Kube, gateway_url: str, service: promises.Workload
) -> None:
    # arrange: steady traffic to every backend
    with TrafficProbe(gateway_url, EVERY_BACKEND, rate=RATE) as probe:
        before = {p.metadata.name for p in kube.pods(selector(service.name))}

        # act: scale out, then back in, waiting for each to settle
        kube.scale("Deployment", service.name, SCALED_OUT)
        wait_rolled_out(kube, service.name)
        scaled = kube.workload("Deployment", service.name)
        added = {p.metadata.name for p in kube.pods(selector(service.name))} - before
        kube.scale("Deployment", service.name, service.replicas)
        wait_rolled_out(kube, service.name)
        # The removed pods' shutdown is part of the risk: keep the traffic on until they are gone.
        survivors = {p.metadata.name for p in kube.pods(selector(service.name))}
        wait_pods_gone(kube, (before | added) - survivors)

    # assert: it reached 4 ready, came back to the promise, and no request failed
    summary = probe.summary()
    print(f"\n{service.name} scaled 2→4→2: {summary}")
    record(f"scaling_traffic.{service.name}", str(summary))
    assert (scaled.ready, scaled.desired) == (SCALED_OUT, SCALED_OUT), str(scaled)
    final = kube.workload("Deployment", service.name)
    assert (final.ready, final.desired) == (service.replicas, service.replicas), str(final)
    assert summary.failures == [], summary.timeline()
