"""Resource limits: every container runs with limits, and one that goes over its memory limit
is OOM-killed and restarted — while the Service keeps answering from the pods within theirs.

The overrun is real: the rollout gives notification-service's container a memory limit below
what the process needs to start, so the kernel's OOM killer, not the test, ends it. The negative
control makes the same rollout with the manifest's limit: no restart, no OOM kill.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from kubernetes.client import V1Pod

from kubepromises.waiting import NotYet, eventually
from suites import promises
from suites.resilience.live import (
    deployment_restored,
    record,
    selector,
    wait_pods_gone,
    wait_rolled_out,
)
from testbed.cluster import Testbed
from testbed.kube import Kube, is_ready
from testbed.traffic import EVERY_BACKEND, TrafficProbe

pytestmark = pytest.mark.cluster

SERVICE = "notification-service"
#: Python with FastAPI, pydantic and pymongo loaded needs well over this.
TOO_LITTLE_MEMORY = "32Mi"
RATE = 20.0
OOM_TIMEOUT = 120.0


def test_every_container_in_the_namespace_runs_with_cpu_and_memory_limits(kube: Kube) -> None:
    # arrange / act: the containers Kubernetes actually runs
    unlimited = []
    for pod in kube.pods():
        for container in [*(pod.spec.init_containers or []), *pod.spec.containers]:
            limits = (container.resources.limits or {}) if container.resources else {}
            if not {"cpu", "memory"} <= set(limits):
                unlimited.append(f"{pod.metadata.name}/{container.name}: {limits}")

    # assert
    assert kube.pods(), "no pods in the namespace"
    assert unlimited == []


#: metrics-server reads each pod every 15 s (--metric-resolution) and reports it from its
#: second read; a pod Ready this long has had them, with room for a busy machine. A younger pod
#: (an earlier test's rollout) is not waited for: waiting took 19 s of a CI run (3 Dec 2026).
MEASURABLE_AFTER_SECONDS = 60.0
METRICS_TIMEOUT = 60.0


def ready_for(pod: V1Pod) -> float:
    """Seconds since the pod became Ready."""
    ready = next(c for c in pod.status.conditions if c.type == "Ready")
    since: datetime = ready.last_transition_time
    return (datetime.now(UTC) - since).total_seconds()


def gib(size: int) -> float:
    return round(size / 2**30, 2)


def test_the_memory_of_the_deployed_system_is_measured_whole(testbed: Testbed, kube: Kube) -> None:
    # arrange: a working set for every pod Ready long enough to have one (younger ones counted)
    def every_pod_measured() -> tuple[dict[str, int], list[str]]:
        ready = [p for p in kube.pods() if is_ready(p)]
        old = {p.metadata.name for p in ready if ready_for(p) >= MEASURABLE_AFTER_SECONDS}
        names = {p.metadata.name for p in ready}
        measured = {name: size for name, size in kube.pod_memory().items() if name in names}
        if not measured or old - set(measured):
            raise NotYet(f"no working set yet for {sorted((old or names) - set(measured))}")
        return measured, sorted(names - set(measured))

    pods, young = eventually(
        every_pod_measured,
        timeout=METRICS_TIMEOUT,
        interval=3,
        what=f"metrics-server's working set of every pod Ready for {MEASURABLE_AFTER_SECONDS:g} s",
        hint="kubectl top pods -n demo-micro; kubectl -n kube-system logs deploy/metrics-server",
    )
    record("memory.pods_not_yet_measured", len(young))

    # act: what each node container takes, Kubernetes and the add-ons included
    nodes = testbed.node_memory()
    record("memory.deployed_gib", gib(sum(nodes.values())))
    for node, size in nodes.items():
        record(f"memory.node_gib.{node}", gib(size))
    record("memory.pods_gib.demo-micro", gib(sum(pods.values())))

    # assert: every node measured, and the pods are part of what the nodes hold (the budget
    # itself is the SLO of the figure: drawing.yaml, slos.deployed-memory)
    assert set(nodes) == set(testbed.nodes()), nodes
    assert all(size > 0 for size in [*nodes.values(), *pods.values()]), (nodes, pods)
    assert sum(pods.values()) < sum(nodes.values()), (pods, nodes)


@pytest.fixture
def restored(kube: Kube) -> Iterator[str]:
    """The Deployment's template put back (and rolled out) after the test."""
    with deployment_restored(kube, SERVICE) as name:
        yield name


def new_pods_patch(kube: Kube, memory: str | None = None) -> dict[str, object]:
    """New pods for the service (a fresh annotation), with this memory request and limit
    (None: the manifest's)."""
    container: dict[str, object] = {
        "name": kube.deployment(SERVICE).spec.template.spec.containers[0].name
    }
    if memory is not None:
        container["resources"] = {"requests": {"memory": memory}, "limits": {"memory": memory}}
    return {
        "spec": {
            "template": {
                "metadata": {"annotations": {"demo-micro.dev/oom-test": uuid.uuid4().hex}},
                "spec": {"containers": [container]},
            }
        }
    }


def restarts(kube: Kube) -> dict[str, list[tuple[int, str | None]]]:
    """Pod → (restarts, last termination reason) of each of its containers."""
    return {
        p.metadata.name: [
            (
                s.restart_count,
                s.last_state.terminated.reason
                if s.last_state and s.last_state.terminated
                else None,
            )
            for s in p.status.container_statuses or []
        ]
        for p in kube.pods(selector(SERVICE))
    }


def test_a_container_over_its_memory_limit_is_oom_killed_and_restarted_without_failed_requests(
    kube: Kube, gateway_url: str, restored: str
) -> None:
    # arrange: the serving pods, and steady traffic through every backend
    serving = {p.metadata.name for p in kube.ready_pods(selector(SERVICE))}
    patch = new_pods_patch(kube, memory=TOO_LITTLE_MEMORY)

    with TrafficProbe(gateway_url, EVERY_BACKEND, rate=RATE) as probe:
        # act: roll out a pod whose process cannot fit its limit
        kube.patch_deployment(SERVICE, patch)

        def oom_killed_and_restarted() -> str:
            for pod in kube.pods(selector(SERVICE)):
                if pod.metadata.name in serving:
                    continue
                for status in pod.status.container_statuses or []:
                    last = status.last_state.terminated if status.last_state else None
                    if last and last.reason == "OOMKilled" and status.restart_count >= 1:
                        return f"{pod.metadata.name}: {status.restart_count} restarts, OOMKilled"
            raise NotYet(restarts(kube))

        verdict = eventually(
            oom_killed_and_restarted,
            timeout=OOM_TIMEOUT,
            interval=1,
            what=f"a new {SERVICE} container OOM-killed and restarted by the kubelet",
            hint="kubectl describe pod: Last State Terminated, Reason OOMKilled",
        )
        still_serving = {p.metadata.name for p in kube.ready_pods(selector(SERVICE))}

    # assert: killed for memory and restarted; the old pods kept serving; no request failed
    summary = probe.summary()
    print(f"\n{verdict}; traffic meanwhile: {summary}")
    assert serving <= still_serving, (serving, still_serving)
    assert summary.failures == [], summary.timeline()
    assert kube.deployment(SERVICE).spec.replicas == promises.workload(SERVICE).replicas


#: How long the control watches new pods with the manifest's limit: twice what the OOM kill
#: above took to come (6-10 s after the rollout began, 3 Dec 2026), from the moment they serve.
CONTROL_WINDOW_SECONDS = 20.0


def test_negative_control_the_same_rollout_within_the_manifests_limit_is_not_oom_killed(
    kube: Kube, restored: str
) -> None:
    # arrange: the pods serving now
    old = {p.metadata.name for p in kube.pods(selector(SERVICE))}

    # act: the same rollout, keeping the manifest's memory limit; then watch the new pods
    kube.patch_deployment(SERVICE, new_pods_patch(kube))
    wait_rolled_out(kube, SERVICE)
    wait_pods_gone(kube, old)
    watched_until = time.monotonic() + CONTROL_WINDOW_SECONDS
    seen = restarts(kube)
    while time.monotonic() < watched_until and all(r == 0 for c in seen.values() for r, _ in c):
        time.sleep(2)
        seen = restarts(kube)

    # assert: no restart, no OOM kill: the kill above is the 32 MiB limit's doing
    assert seen, "no pods to watch"
    assert all(c == [(0, None)] for c in seen.values()), seen
