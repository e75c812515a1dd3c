"""Self-healing: a killed pod of any of our Deployments is replaced while clients see no failure.

The negative control kills a pod of an api-gateway stripped of its preStop sleep and probes, and
shows the same check then sees failed requests. One such kill fails no request about a third of
the time (a race with kube-proxy), so the positive test kills as many pods of each service, one
after another, as it takes to catch that with 95 % chance (promises.yaml's `power`: 3)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from kubernetes.client import V1Pod

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
from testbed.waiting import NotYet, eventually

pytestmark = pytest.mark.cluster

RATE = 40.0
#: Bounds the wait, not the promise: the goal (p95 ≤ 10 s) is measured and reported.
REPLACEMENT_TIMEOUT = 60.0
# How long the traffic goes on once the replacement is Ready and the old pod gone: healing is done
# only when the replacement carries its share. Without it an unsafe replacement (Ready the moment
# its container runs, before it listens) was never sent a request, and the negative control
# failed nothing once in CI.
SERVE_AFTER_HEALING = 5.0


@dataclass(frozen=True)
class Healing:
    """One deleted pod and its replacement."""

    service: str
    victim: str
    replacement: str
    time_to_ready: float
    #: Where the time to Ready went: the replacement's steps, in whole seconds after the kill.
    steps: str


@dataclass(frozen=True)
class Round:
    """One pod of each named service deleted at once, and what the traffic saw meanwhile."""

    healings: tuple[Healing, ...]
    summary: Summary


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


def replacements_ready(
    kube: Kube, before: dict[str, set[str]], killed_at: float
) -> dict[str, tuple[str, float]]:
    """Each service's first Ready pod not in `before`, and the seconds from the kill to the
    poll that first saw it Ready: all services polled together, one list of pods a poll."""
    seen: dict[str, tuple[str, float]] = {}

    def every_replacement_ready() -> dict[str, tuple[str, float]]:
        pods = kube.pods()
        for name, old in before.items():
            if name in seen:
                continue
            fresh = [
                p.metadata.name
                for p in pods
                if (p.metadata.labels or {}).get(promises.APP_LABEL) == name
                and p.metadata.name not in old
                and is_ready(p)
            ]
            if fresh:
                seen[name] = (str(fresh[0]), time.monotonic() - killed_at)
        waiting = sorted(set(before) - set(seen))
        if waiting:
            raise NotYet(f"no Ready replacement yet for {waiting}")
        return seen

    return eventually(
        every_replacement_ready,
        timeout=REPLACEMENT_TIMEOUT,
        interval=0.2,
        what=f"a Ready replacement for each deleted pod of {sorted(before)}",
        hint="look at the new pods' events: image, scheduling, probes",
    )


def kill_under_traffic(
    kube: Kube, gateway_url: str, names: Sequence[str], timeline: Timeline
) -> Round:
    """Delete one pod of each of `names` at once, under steady traffic to every backend, each
    request on a new connection (so kube-proxy's choice is made per request); wait
    for a Ready replacement of each and for the old pods to be gone, and keep the traffic on
    SERVE_AFTER_HEALING longer; return what the traffic saw."""
    before: dict[str, set[str]] = {}
    for name in names:
        wait_rolled_out(kube, name)
        before[name] = {p.metadata.name for p in kube.ready_pods(selector(name))}
    victims = {name: sorted(pods)[0] for name, pods in before.items()}

    with TrafficProbe(
        gateway_url, EVERY_BACKEND, rate=RATE, new_connection_each_request=True
    ) as probe:
        # delete one pod of each the ordinary way (preStop and grace period apply)
        killed_at = time.monotonic()
        killed_wall = datetime.now(UTC)
        marks = {"pods deleted": probe.elapsed()}
        for victim in victims.values():
            kube.delete_pod(victim)

        ready = replacements_ready(kube, before, killed_at)
        marks["replacements Ready"] = probe.elapsed()
        healings = []
        for name, (replacement, time_to_ready) in ready.items():
            pod = kube.core.read_namespaced_pod(replacement, kube.namespace)
            steps = replacement_steps(pod, killed_wall)
            healings.append(Healing(name, victims[name], replacement, time_to_ready, steps))
        for name in names:
            wait_rolled_out(kube, name)
        # Keep the traffic on until the old pods have shut down: their exit is part of the fault.
        for victim in victims.values():
            wait_pod_gone(kube, victim)
        marks["old pods gone"] = probe.elapsed()
        time.sleep(SERVE_AFTER_HEALING)  # a dwell under traffic, not a wait for a condition

    summary = probe.summary()
    timeline.attach(summary, marks)
    return Round(tuple(healings), summary)


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
    # again until POWER.repeats pods were. One service at a time: the four killed at once
    # (4 Dec 2026) were Ready 8.5-16 s after the kill on this 2-core machine, against 4.3-5.6 s
    # one at a time, above the 10 s goal.
    rounds = [
        kill_under_traffic(kube, gateway_url, [service.name], timeline)
        for _ in range(POWER.repeats)
    ]

    # assert: each time back to the promised replicas, the old pod gone, no request failed
    heals = [healed for each in rounds for healed in each.healings]
    for each in rounds:
        for healed in each.healings:
            print(
                f"\n{service.name}: {healed.replacement} Ready {healed.time_to_ready:.1f} s after "
                f"deleting {healed.victim} ({healed.steps}); traffic: {each.summary}"
            )
    # The goal bounds the p95 over every kill of the run; each service shows its slowest.
    KILL_TIMES.extend(healed.time_to_ready for healed in heals)
    p95 = statistics.quantiles(KILL_TIMES, n=20, method="inclusive")[-1]
    record("time_to_ready_seconds.p95-of-all-kills", round(p95, 2))
    slowest = max(healed.time_to_ready for healed in heals)
    record(f"slowest_time_to_ready_seconds.{service.name}", round(slowest, 2))
    record(f"self_healing_traffic.{service.name}", "; ".join(str(e.summary) for e in rounds))
    record("power.auto-healing", str(POWER))
    names = {p.metadata.name for p in kube.ready_pods(selector(service.name))}
    assert len(names) == service.replicas, names
    assert not {healed.victim for healed in heals} & names, names
    for each in rounds:
        assert each.summary.failures == [], each.summary.timeline()


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

    # act: the kill above, of this service alone, repeated until the traffic saw failures
    # (UNSAFE_KILLS_AT_MOST)
    kills: list[Round] = []
    while len(kills) < UNSAFE_KILLS_AT_MOST and not any(k.summary.failures for k in kills):
        kills.append(kill_under_traffic(kube, gateway_url, [restored], timeline))

    # assert: the check notices (the replacements still come: self-healing itself is intact)
    for each in kills:
        print(f"\nunsafe {restored} pod killed: {each.summary.timeline()}")
    failed = [len(each.summary.failures) for each in kills]
    figure = f"{len(kills)} kill(s): failed {failed} of {[each.summary.total for each in kills]}"
    record("negative_control_unsafe_kill", figure)
    assert sum(failed) > 0, f"killing unsafe pods failed no request: {figure}"
