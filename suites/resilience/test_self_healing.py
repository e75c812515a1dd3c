"""Self-healing: a killed pod of any of our Deployments is replaced while clients see no failure.

The negative control kills a pod of an api-gateway stripped of its preStop sleep and probes, and
shows the same check then sees failed requests. One such kill fails no request about a third of
the time (a race with kube-proxy), so the positive test kills as many pods of each service as it
takes to catch that with 95 % chance (promises.yaml's `power`: 3), in rounds: one pod of every
service in turn, each as soon as the one before has a Ready replacement."""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator, Sequence
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
    wait_pods_gone,
    wait_rolled_out,
)
from testbed.kube import Kube, is_ready
from testbed.traffic import EVERY_BACKEND, Summary, TrafficProbe

pytestmark = pytest.mark.cluster

RATE = 40.0
#: Bounds the wait, not the promise: the goal (p95 ≤ 10 s) is measured and reported.
REPLACEMENT_TIMEOUT = 60.0
# How long the traffic goes on with the last replacement Ready, at least: healing is done only
# when the replacement carries its share. Without it an unsafe replacement (Ready the moment its
# container runs, before it listens) was never sent a request, and the negative control failed
# nothing once in CI. Every other replacement serves while the kills after it go on, and a safe
# pod's drain (its preStop, 10 s) gives the last one that long already; a pod without one (the
# negative control's) goes at once, and the traffic goes on.
SERVE_AFTER_READY = 5.0
# ... and after the old pods are gone, at least this: a request still sent to one shows.
SERVE_AFTER_GONE = 1.0


@dataclass(frozen=True)
class Kill:
    service: str
    victim: str
    replacement: str
    time_to_ready: float
    #: Where the time to Ready went: the replacement's steps, in whole seconds after the kill.
    steps: str

    def __str__(self) -> str:
        return (
            f"{self.service}: {self.replacement} Ready {self.time_to_ready:.1f} s after "
            f"deleting {self.victim} ({self.steps})"
        )


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


def kill_one(kube: Kube, name: str) -> Kill:
    """Delete one Ready pod of `name` the ordinary way (preStop and grace period apply) and
    return once a new pod of it is Ready; the deleted one may still be draining."""
    before = {p.metadata.name for p in kube.ready_pods(selector(name))}
    victim = sorted(before)[0]
    killed_at = time.monotonic()
    killed_wall = datetime.now(UTC)
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
    pod = kube.core.read_namespaced_pod(replacement, kube.namespace)
    return Kill(name, victim, replacement, time_to_ready, replacement_steps(pod, killed_wall))


def kill_in_turn(
    kube: Kube, gateway_url: str, names: Sequence[str], timeline: Timeline
) -> tuple[list[Kill], Summary]:
    """Delete one pod of each of `names`, in that order, under steady traffic to every backend,
    each request on a new connection (so kube-proxy's choice is made per request). Each kill
    follows the one before as soon as that one's replacement is Ready, while its old pod still
    drains: one pod starts at a time, and the drains overlap. The traffic goes on until every
    old pod is gone (its exit is part of the fault) and the last replacement has served
    SERVE_AFTER_READY; (the kills, what the traffic saw)."""
    for name in dict.fromkeys(names):
        wait_rolled_out(kube, name)
    kills: list[Kill] = []
    marks: dict[str, float] = {}
    with TrafficProbe(
        gateway_url, EVERY_BACKEND, rate=RATE, new_connection_each_request=True
    ) as probe:
        for number, name in enumerate(names, start=1):
            marks[f"{number}: {name} pod deleted"] = probe.elapsed()
            kills.append(kill_one(kube, name))
        last_ready = probe.elapsed()
        wait_pods_gone(kube, {kill.victim for kill in kills})
        marks["old pods gone"] = probe.elapsed()
        # a dwell under traffic, not a wait for a condition
        served = marks["old pods gone"] - last_ready
        time.sleep(max(SERVE_AFTER_GONE, SERVE_AFTER_READY - served))

    summary = probe.summary()
    timeline.attach(summary, marks)
    return kills, summary


#: How many pods of each service are killed: enough to catch, with the stated chance, a pod as
#: unsafe as the negative control's (promises.yaml, `power`).
POWER = promises.power("auto-healing")


def test_killed_pods_of_every_service_are_replaced_by_ready_ones_without_failed_requests(
    kube: Kube, gateway_url: str, timeline: Timeline
) -> None:
    # arrange: POWER.repeats rounds, each deleting one pod of every service in turn
    rounds = [service.name for _ in range(POWER.repeats) for service in promises.SERVICES]

    # act: the kills under traffic
    kills, summary = kill_in_turn(kube, gateway_url, rounds, timeline)

    # assert: every service back to its promised replicas, the old pods gone, no request failed
    print("\n" + "\n".join(str(kill) for kill in kills) + f"\ntraffic: {summary}")
    times = [kill.time_to_ready for kill in kills]
    p95 = statistics.quantiles(times, n=20, method="inclusive")[-1]
    record("time_to_ready_seconds.p95-of-all-kills", round(p95, 2))
    for service in promises.SERVICES:
        slowest = max(k.time_to_ready for k in kills if k.service == service.name)
        record(f"slowest_time_to_ready_seconds.{service.name}", round(slowest, 2))
    record("self_healing_traffic.every-service", str(summary))
    record("power.auto-healing", str(POWER))
    victims = {kill.victim for kill in kills}
    for service in promises.SERVICES:
        names = {p.metadata.name for p in kube.ready_pods(selector(service.name))}
        assert len(names) == service.replicas, (service.name, names)
        assert not victims & names, (service.name, names)
    assert summary.failures == [], summary.timeline()


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

    # act: the same kill as above, one at a time, until the traffic saw failures
    # (UNSAFE_KILLS_AT_MOST)
    summaries: list[Summary] = []
    while len(summaries) < UNSAFE_KILLS_AT_MOST and not any(s.failures for s in summaries):
        summaries.append(kill_in_turn(kube, gateway_url, [restored], timeline)[1])

    # assert: the check notices (the replacements still come: self-healing itself is intact)
    for summary in summaries:
        print(f"\nunsafe {restored} pod killed: {summary.timeline()}")
    failed = [len(summary.failures) for summary in summaries]
    figure = f"{len(summaries)} kill(s): failed {failed} of {[s.total for s in summaries]}"
    record("negative_control_unsafe_kill", figure)
    assert sum(failed) > 0, f"killing unsafe pods failed no request: {figure}"
