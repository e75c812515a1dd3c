"""Self-healing: a killed pod of any of our Deployments is replaced while clients see no failure.

The negative control kills a pod of an api-gateway stripped of its preStop sleep and probes, and
shows the same check then sees failed requests. One such kill fails no request about a third of
the time (a race with kube-proxy), so the positive test kills as many pods of each service, one
after another, as it takes to catch that with 95 % chance (promises.yaml's `power`: 3)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from kubernetes.client import V1Pod

from kubepromises.waiting import NotYet, eventually
from suites import promises
from suites.reporting.plugin import Timeline
from suites.resilience.live import (
    deployment_restored,
    make_unsafe,
    record,
    selector,
    wait_pod_gone,
    wait_rolled_out,
)
from testbed.kube import Kube, is_ready
from testbed.traffic import EVERY_BACKEND, Summary, TrafficProbe

pytestmark = pytest.mark.cluster

RATE = 40.0
#: Bounds the wait, not the promise: the goal (p95 ≤ 10 s) is measured and reported.
REPLACEMENT_TIMEOUT = 60.0
# How long the traffic goes on with the replacement Ready, at least: healing is done only when
# the replacement carries its share. Without it an unsafe replacement (Ready the moment its
# container runs, before it listens) was never sent a request, and the negative control failed
# nothing once in CI. A safe pod's drain (its preStop, 10 s) gives the replacement that long
# already; a pod without one (the negative control's) goes at once, and the traffic goes on.
SERVE_AFTER_READY = 5.0
# ... and after the old pod is gone, at least this: a request still sent to it shows.
SERVE_AFTER_GONE = 1.0


@dataclass(frozen=True)
class Healing:
    victim: str
    replacement: str
    time_to_ready: float
    summary: Summary
    #: Where the time to Ready went: the replacement's steps, in whole seconds after the kill.
    steps: str


def replacement_steps(pod: V1Pod, killed_at: datetime) -> str:
    """The replacement pod's scheduling, container start and Ready, in seconds after the kill
    (the API keeps whole seconds)."""
    conditions = {c.type: c.last_transition_time for c in pod.status.conditions or []}
    running = (pod.status.container_statuses or [])[0].state.running
    steps = {
        "scheduled": conditions.get("PodScheduled"),
        "started": running.started_at if running else None,
        "Ready": conditions.get("Ready"),
    }
    return ", ".join(
        f"{step} {round((at - killed_at).total_seconds()):+d} s"
        for step, at in steps.items()
        if at is not None
    )


def kill_under_traffic(kube: Kube, gateway_url: str, name: str, timeline: Timeline) -> Healing:
    """Delete one pod of `name` under steady traffic to every backend, each request on a new
    connection (so kube-proxy's choice is made per request); wait for a Ready replacement and
    for the old pod to be gone, and keep the traffic on until the replacement has served
    SERVE_AFTER_READY (SERVE_AFTER_GONE at least); return what the traffic saw."""
    wait_rolled_out(kube, name)
    before = {p.metadata.name for p in kube.ready_pods(selector(name))}
    victim = sorted(before)[0]

    with TrafficProbe(
        gateway_url, EVERY_BACKEND, rate=RATE, new_connection_each_request=True
    ) as probe:
        # delete one pod the ordinary way (preStop and grace period apply)
        killed_at = time.monotonic()
        killed_wall = datetime.now(UTC)
        marks = {"pod deleted": probe.elapsed()}
        kube.delete_pod(victim)

        def replacement_ready() -> str:
            pods = kube.pods(selector(name))
            fresh = [p.metadata.name for p in pods if p.metadata.name not in before and is_ready(p)]
            if not fresh:
                raise NotYet({p.metadata.name: p.status.phase for p in pods})
            return str(fresh[0])

        replacement = eventually(
            replacement_ready,
            timeout=REPLACEMENT_TIMEOUT,
            interval=0.2,
            what=f"a Ready replacement for {name} pod {victim}",
            hint="look at the new pod's events: image, scheduling, probes",
        )
        time_to_ready = time.monotonic() - killed_at
        marks["replacement Ready"] = probe.elapsed()
        steps = replacement_steps(
            kube.core.read_namespaced_pod(replacement, kube.namespace), killed_wall
        )
        wait_rolled_out(kube, name)
        # Keep the traffic on until the old pod has shut down: its exit is part of the fault.
        wait_pod_gone(kube, victim)
        marks["old pod gone"] = probe.elapsed()
        # a dwell under traffic, not a wait for a condition
        served = marks["old pod gone"] - marks["replacement Ready"]
        time.sleep(max(SERVE_AFTER_GONE, SERVE_AFTER_READY - served))

    summary = probe.summary()
    timeline.attach(summary, marks)
    return Healing(victim, replacement, time_to_ready, summary, steps)


#: How many pods of each service are killed, one after another: enough to catch, with the
#: stated chance, a pod as unsafe as the negative control's (promises.yaml, `power`).
POWER = promises.power("auto-healing")

#: Every kill's time to Ready in this run, all services together: the goal bounds their p95.
KILL_TIMES: list[float] = []


@pytest.mark.parametrize("service", promises.SERVICES, ids=lambda s: s.name)
def test_a_killed_pod_is_replaced_by_a_ready_one_without_failed_requests(
    kube: Kube, gateway_url: str, service: promises.Workload, timeline: Timeline
) -> None:
    # arrange / act: the Deployment at its promised size, one pod deleted under traffic, and
    # again until POWER.repeats pods were
    heals = [
        kill_under_traffic(kube, gateway_url, service.name, timeline) for _ in range(POWER.repeats)
    ]

    # assert: each time back to the promised replicas, the old pod gone, no request failed
    for healed in heals:
        print(
            f"\n{service.name}: {healed.replacement} Ready {healed.time_to_ready:.1f} s after "
            f"deleting {healed.victim} ({healed.steps}); traffic: {healed.summary}"
        )
    # The goal bounds the p95 over every kill of the run; each service shows its slowest.
    KILL_TIMES.extend(healed.time_to_ready for healed in heals)
    p95 = statistics.quantiles(KILL_TIMES, n=20, method="inclusive")[-1]
    record("time_to_ready_seconds.p95-of-all-kills", round(p95, 2))
    slowest = max(healed.time_to_ready for healed in heals)
    record(f"slowest_time_to_ready_seconds.{service.name}", round(slowest, 2))
    record(f"self_healing_traffic.{service.name}", "; ".join(str(h.summary) for h in heals))
    record("power.auto-healing", str(POWER))
    names = {p.metadata.name for p in kube.ready_pods(selector(service.name))}
    assert len(names) == service.replicas, names
    assert not {healed.victim for healed in heals} & names, names
    for healed in heals:
        assert healed.summary.failures == [], healed.summary.timeline()


UNSAFE = "api-gateway"
#: At most this many unsafe pods are killed, one after another, until the check sees failed
#: requests. One kill's failures come from a race (does the pod get SIGTERM before kube-proxy
#: stops sending it connections?) that the pod sometimes wins; it is no safer for that
#: (a single kill was clean in about a third of runs, 29 Nov 2026).
UNSAFE_KILLS_AT_MOST = 10


@pytest.fixture
def restored(kube: Kube) -> Iterator[str]:
    """api-gateway's template put back (and rolled out) after the negative control."""
    with deployment_restored(kube, UNSAFE) as name:
        yield name


@pytest.mark.clients_see_failures  # the unsafe pods fail requests: that is the point
def test_negative_control_a_pod_without_prestop_and_probes_fails_requests_when_killed(
    kube: Kube, gateway_url: str, restored: str, timeline: Timeline
) -> None:
    # arrange: pods without the preStop sleep, readiness and startup probes
    make_unsafe(kube, restored)

    # act: the same kill as above, repeated until the traffic saw failures (UNSAFE_KILLS_AT_MOST)
    kills: list[Healing] = []
    while len(kills) < UNSAFE_KILLS_AT_MOST and not any(k.summary.failures for k in kills):
        kills.append(kill_under_traffic(kube, gateway_url, restored, timeline))

    # assert: the check notices (the replacements still come: self-healing itself is intact)
    for healed in kills:
        print(f"\nunsafe {restored} pod killed: {healed.summary.timeline()}")
    failed = [len(healed.summary.failures) for healed in kills]
    figure = f"{len(kills)} kill(s): failed {failed} of {[h.summary.total for h in kills]}"
    record("negative_control_unsafe_kill", figure)
    assert sum(failed) > 0, f"killing unsafe pods failed no request: {figure}"
