"""Scaling: the Deployments scaled to 4 and back to their promised size fail no request.

The negative control scales an api-gateway stripped of its preStop sleep and probes the same way
and shows the check then sees failed requests. The positive test scales every Deployment, all at
once, as many times as it takes to catch such a Deployment with 95 % chance (promises.yaml's
`power`, measured with `python -m benchmarks.power`)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from kubepromises.rollouts import HOLD_SCALED_OUT
from suites import promises
from suites.resilience.live import (
    deployment_restored,
    make_unsafe,
    record,
    selector,
    wait_pods_gone,
    wait_rolled_out,
)
from testbed.kube import Kube, WorkloadState
from testbed.traffic import EVERY_BACKEND, Summary, TrafficProbe

pytestmark = pytest.mark.cluster

SCALED_OUT = 4  # the HorizontalPodAutoscalers' maximum
RATE = 40.0


@pytest.fixture
def services(kube: Kube) -> Iterator[list[promises.Workload]]:
    """Every service's Deployment, scaled back to its promised replicas whatever the test did."""
    for service in promises.SERVICES:
        wait_rolled_out(kube, service.name)
    yield list(promises.SERVICES)
    for service in promises.SERVICES:
        kube.scale("Deployment", service.name, service.replicas)
    for service in promises.SERVICES:
        wait_rolled_out(kube, service.name)


def scale_out_and_back(
    kube: Kube, gateway_url: str, *names: str
) -> tuple[dict[str, WorkloadState], Summary]:
    """Scale the Deployments `names` to SCALED_OUT together, hold them there, and scale them
    back to their promise, all under traffic to every backend; (their states when scaled out,
    what the traffic saw)."""
    # A new connection per request: with pooled ones, the gateway's new pods would see almost no
    # traffic (found by the negative control, which then failed nothing).
    probe = TrafficProbe(gateway_url, EVERY_BACKEND, rate=RATE, new_connection_each_request=True)
    with probe:
        before = {p.metadata.name for name in names for p in kube.pods(selector(name))}
        for name in names:
            kube.scale("Deployment", name, SCALED_OUT)
        for name in names:
            wait_rolled_out(kube, name)
        scaled = {name: kube.workload("Deployment", name) for name in names}
        added = {p.metadata.name for name in names for p in kube.pods(selector(name))} - before
        time.sleep(HOLD_SCALED_OUT)  # a dwell under traffic, not a wait for a condition
        for name in names:
            kube.scale("Deployment", name, promises.workload(name).replicas)
        for name in names:
            wait_rolled_out(kube, name)
        # The removed pods' shutdown is part of the risk: keep the traffic on until they are gone.
        survivors = {p.metadata.name for name in names for p in kube.pods(selector(name))}
        wait_pods_gone(kube, (before | added) - survivors)
    return scaled, probe.summary()


#: How many 2→4→2 cycles of each Deployment, one after another: enough to catch, with the stated
#: chance, a Deployment as unsafe as the negative control's (promises.yaml, `power`).
POWER = promises.power("scalability")


def test_scaling_every_deployment_to_4_and_back_at_once_fails_no_request(
    kube: Kube, gateway_url: str, services: list[promises.Workload]
) -> None:
    # All four at once: each Deployment still gets its cycles, under the load of the others'
    # (one after another, the four took 104 s on 3 Dec 2026).
    seen: list[str] = []
    names = [service.name for service in services]
    for _ in range(POWER.repeats):
        # arrange / act: steady traffic to every backend; scale out, then back in
        scaled, summary = scale_out_and_back(kube, gateway_url, *names)

        # assert: each reached 4 ready and came back to its promise, and no request failed
        print(f"\n{', '.join(names)} scaled 2→4→2 together: {summary}")
        seen.append(str(summary))
        record("scaling_traffic.every-service", "; ".join(seen))
        record("power.scalability", str(POWER))
        for service in services:
            state = scaled[service.name]
            assert (state.ready, state.desired) == (SCALED_OUT, SCALED_OUT), str(state)
            final = kube.workload("Deployment", service.name)
            assert (final.ready, final.desired) == (service.replicas, service.replicas), str(final)
        assert summary.failures == [], summary.timeline()


UNSAFE = "api-gateway"
#: At most this many 2→4→2 cycles of the unsafe gateway, one after another, until the check sees
#: failed requests. Their failures come from races (kube-proxy against the pods' start and
#: SIGTERM): one cycle in about twenty has failed no request.
UNSAFE_CYCLES_AT_MOST = 4


@pytest.fixture
def restored(kube: Kube) -> Iterator[str]:
    """api-gateway's template and replicas put back (and rolled out) after the control."""
    with deployment_restored(kube, UNSAFE) as name:
        yield name


def test_negative_control_scaling_pods_without_prestop_and_probes_fails_requests(
    kube: Kube, gateway_url: str, restored: str
) -> None:
    # arrange: gateway pods without the preStop sleep, readiness and startup probes
    make_unsafe(kube, restored)

    # act: the same scaling, repeated until the traffic saw failures (UNSAFE_CYCLES_AT_MOST)
    summaries: list[Summary] = []
    while len(summaries) < UNSAFE_CYCLES_AT_MOST and not any(s.failures for s in summaries):
        summaries.append(scale_out_and_back(kube, gateway_url, restored)[1])

    # assert: the check notices (new pods get traffic before they listen, old ones while leaving)
    for summary in summaries:
        print(f"\nunsafe {restored} scaled 2→4→2: {summary.timeline()}")
    failed = [len(summary.failures) for summary in summaries]
    figure = f"{len(summaries)} cycle(s): failed {failed} of {[s.total for s in summaries]}"
    record("negative_control_unsafe_scaling", figure)
    assert sum(failed) > 0, f"scaling unsafe pods failed no request: {figure}"
