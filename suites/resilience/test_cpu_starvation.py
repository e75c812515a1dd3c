"""A noisy neighbour on the node of one gateway replica: a pod spinning on every core of that node
(`testbed.faults.noisy_neighbour`). The gateway's p95 stays within its bound
(`cpu-starvation-p95`) and no request fails, because the CPU requests of the system's pods give
them the kernel's weight over a pod that requests none (BestEffort).

The negative control: the same neighbour claiming the weight of a large CPU request
(all the CPU the node has left to request, many times the gateway's request) starves the
gateway's replica there, and the same p95 check fails.

Not the designed answer: the autoscaler. It scales on the gateway's own CPU use, which a
neighbour does not raise (the resilience suite holds the autoscalers still in any case).
"""

from __future__ import annotations

import time

import pytest

from suites import promises
from suites.reporting.plugin import Timeline
from suites.resilience.live import record, selector, wait_rolled_out
from testbed import faults
from testbed.kube import Kube
from testbed.traffic import EVERY_BACKEND, Summary, TrafficProbe

pytestmark = pytest.mark.cluster

GATEWAY = promises.API_NODE_PORT.workload
#: Reads through every backend; no orders, so no stock is used up.
TARGETS = EVERY_BACKEND
RATE = 40.0
MEASURE_SECONDS = 8.0
#: The control neighbour requests all the CPU the node has left to request, less this (room
#: for the node's own churn): weight many times the gateway's 50m, as cgroup weights follow
#: requests.
CONTROL_MARGIN_MILLIS = 100
#: ... and at least this much, or the control proves nothing.
CONTROL_AT_LEAST_MILLIS = 1000
#: The neighbour takes at least this many cores while it runs (else the fault did not bite).
NEIGHBOUR_CORES_AT_LEAST = 0.5

P95_BOUND = promises.DRAWING.slo("cpu-starvation-p95").at_most


def p95_ms(summary: Summary) -> float:
    return summary.latency_percentile(0.95) * 1000


def measure(gateway_url: str) -> Summary:
    """MEASURE_SECONDS of reads through the gateway at RATE."""
    with TrafficProbe(gateway_url, TARGETS, rate=RATE, workers=8) as probe:
        time.sleep(MEASURE_SECONDS)
    return probe.summary()


def measure_beside(
    kube: Kube, gateway_url: str, node: str, image: str, cores: int, cpu_request: str = ""
) -> tuple[Summary, float]:
    """The reads while a neighbour spins on `node`, and the cores the neighbour took."""
    with faults.noisy_neighbour(kube, node, image, cores, cpu_request) as neighbour:
        used_before, started = neighbour.cpu_seconds(), time.monotonic()
        summary = measure(gateway_url)
        taken = (neighbour.cpu_seconds() - used_before) / (time.monotonic() - started)
    return summary, taken


def test_the_gateway_keeps_its_p95_beside_a_noisy_neighbour_on_its_node(
    kube: Kube, gateway_url: str, timeline: Timeline
) -> None:
    # arrange: the gateway rolled out; the node of one of its replicas, how many cores it has,
    # the gateway's own image for the neighbour (every node has it)
    wait_rolled_out(kube, GATEWAY)
    (first, *_) = sorted(kube.pods(selector(GATEWAY)), key=lambda p: str(p.metadata.name))
    node = str(first.spec.node_name)
    cores = int(kube.core.read_node(node).status.capacity["cpu"])
    image = str(kube.deployment(GATEWAY).spec.template.spec.containers[0].image)
    alone = measure(gateway_url)

    # act: a BestEffort neighbour spinning on every core of that node; then the control, the
    # same neighbour with the weight of all the CPU the node has left to request
    beside, taken = measure_beside(kube, gateway_url, node, image, cores)
    control_millis = faults.unrequested_cpu_millis(kube, node) - CONTROL_MARGIN_MILLIS
    assert control_millis >= CONTROL_AT_LEAST_MILLIS, f"{node} has {control_millis}m left"
    control_request = f"{control_millis}m"
    control, control_taken = measure_beside(kube, gateway_url, node, image, cores, control_request)

    # assert: the neighbour took cores, yet the gateway kept its p95 and failed nothing; the
    # control's neighbour, with weight, starved it past the bound
    timeline.attach(beside, {})
    figures = (
        f"{node} ({cores} cores), one of {GATEWAY}'s two replicas there; p95 alone "
        f"{p95_ms(alone):.0f} ms, beside a BestEffort neighbour spinning {cores} processes "
        f"{p95_ms(beside):.0f} ms (the neighbour took {taken:.2f} cores), beside the same "
        f"neighbour requesting {control_request} {p95_ms(control):.0f} ms (it took "
        f"{control_taken:.2f} cores); alone: {alone}; beside: {beside}; control: {control}"
    )
    print(f"\n{figures}")
    record("cpu_starvation", figures)
    record("cpu_starvation.p95_alone_ms", round(p95_ms(alone)))
    record("cpu_starvation.p95_beside_ms", round(p95_ms(beside)))
    record("cpu_starvation.p95_control_ms", round(p95_ms(control)))
    assert taken >= NEIGHBOUR_CORES_AT_LEAST, f"the neighbour took only {taken:.2f} cores"
    assert beside.failures == [], beside.timeline()
    assert p95_ms(beside) <= P95_BOUND, f"p95 {p95_ms(beside):.0f} ms beside the neighbour"
    # the negative control: a neighbour with weight starves the gateway, and the check says so
    assert p95_ms(control) > P95_BOUND, (
        f"p95 {p95_ms(control):.0f} ms beside a neighbour requesting {control_request}: "
        "the check could not catch a starved gateway"
    )
