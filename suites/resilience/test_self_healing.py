"""Self-healing: a killed pod of any of our Deployments is replaced while clients see no failure."""

from __future__ import annotations

import time

import pytest

from suites import promises
from suites.reporting.plugin import Timeline
from suites.resilience.live import record, selector, wait_pod_gone, wait_rolled_out
from testbed.kube import Kube, is_ready
from testbed.traffic import EVERY_BACKEND, TrafficProbe
from testbed.waiting import NotYet, eventually

pytestmark = pytest.mark.cluster

RATE = 40.0
#: Bounds the wait, not the promise: the goal (p95 ≤ 10 s) is measured and reported.
REPLACEMENT_TIMEOUT = 60.0


@pytest.mark.parametrize("service", promises.SERVICES, ids=lambda s: s.name)
def test_a_killed_pod_is_replaced_by_a_ready_one_without_failed_requests(
    kube: Kube, gateway_url: str, service: promises.Workload, timeline: Timeline
) -> None:
    # arrange: the Deployment at its promised size, steady traffic to every backend
    wait_rolled_out(kube, service.name)
    before = {p.metadata.name for p in kube.ready_pods(selector(service.name))}
    victim = sorted(before)[0]

    with TrafficProbe(gateway_url, EVERY_BACKEND, rate=RATE) as probe:
        # act: delete one pod the ordinary way (preStop and grace period apply)
        killed_at = time.monotonic()
        marks = {"pod deleted": probe.elapsed()}
        kube.delete_pod(victim)

        def replacement_ready() -> str:
            pods = kube.pods(selector(service.name))
            fresh = [p.metadata.name for p in pods if p.metadata.name not in before and is_ready(p)]
            if not fresh:
                raise NotYet({p.metadata.name: p.status.phase for p in pods})
            return str(fresh[0])

        replacement = eventually(
            replacement_ready,
            timeout=REPLACEMENT_TIMEOUT,
            interval=0.2,
            what=f"a Ready replacement for {service.name} pod {victim}",
            hint="look at the new pod's events: image, scheduling, probes",
        )
        time_to_ready = time.monotonic() - killed_at
        marks["replacement Ready"] = probe.elapsed()
        wait_rolled_out(kube, service.name)
        # Keep the traffic on until the old pod has shut down: its exit is part of the fault.
        wait_pod_gone(kube, victim)
        marks["old pod gone"] = probe.elapsed()

    # assert: back to the promised replicas, the old pod gone, no request failed
    summary = probe.summary()
    timeline.attach(summary, marks)
    print(
        f"\n{service.name}: {replacement} Ready {time_to_ready:.1f} s after deleting "
        f"{victim}; traffic: {summary}"
    )
    record(f"time_to_ready_seconds.{service.name}", round(time_to_ready, 2))
    record(f"self_healing_traffic.{service.name}", str(summary))
    names = {p.metadata.name for p in kube.ready_pods(selector(service.name))}
    assert len(names) == service.replicas, names
    assert victim not in names, names
    assert summary.failures == [], summary.timeline()
