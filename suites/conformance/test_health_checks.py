"""Health checks: an unready pod leaves its Service and gets no new traffic; a wedged process is
restarted by its liveness probe.

A pod is made unready the way a real one is: its /readyz turns 503 (the drain endpoint, which
only the pod itself may call, does exactly that). A process is wedged the way a deadlock looks
from outside: SIGSTOP from the node, so it still holds its port but never answers.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from kubepromises.waiting import NotYet, eventually
from suites.resilience.live import record, selector, wait_rolled_out
from testbed.cluster import Testbed
from testbed.kube import Kube, is_ready
from testbed.shell import run

pytestmark = pytest.mark.cluster

SERVICE, PORT = "inventory-service", 9000
#: Reaches inventory-service on every request (an unknown SKU is never cached).
ROUTE = "/api/inventory/products/SKU-PROBE-UNKNOWN"
REQUESTS = 100
#: readiness: period 5 s x failureThreshold 2, then the EndpointSlice controller.
UNREADY_TIMEOUT = 45.0
#: liveness: period 10 s x failureThreshold 3, then preStop against a frozen process and the
#: 30 s grace period before SIGKILL, then startup and readiness of the new container.
RESTART_TIMEOUT = 150.0
DRAIN = (
    "import urllib.request\n"
    f"urllib.request.urlopen('http://127.0.0.1:{PORT}/drainz?seconds=0', timeout=5).read()"
)


@pytest.fixture
def replaced_afterwards(kube: Kube) -> Iterator[str]:
    """One pod of the service to break; deleted (so replaced) after the test."""
    wait_rolled_out(kube, SERVICE)
    victim = str(sorted(p.metadata.name for p in kube.ready_pods(selector(SERVICE)))[0])
    yield victim
    if any(p.metadata.name == victim for p in kube.pods(selector(SERVICE))):
        kube.delete_pod(victim)
    wait_rolled_out(kube, SERVICE)


def send_with_ids(gateway_url: str, count: int) -> tuple[list[str], list[int]]:
    """`count` concurrent requests to the route, each with its own request id."""
    ids = [uuid.uuid4().hex for _ in range(count)]
    with httpx.Client(base_url=gateway_url, timeout=10) as api, ThreadPoolExecutor(8) as pool:
        statuses = list(
            pool.map(lambda rid: api.get(ROUTE, headers={"X-Request-ID": rid}).status_code, ids)
        )
    return ids, statuses


def test_a_pod_that_stops_being_ready_leaves_the_endpoints_and_gets_no_new_traffic(
    testbed: Testbed, kube: Kube, gateway_url: str, replaced_afterwards: str
) -> None:
    # arrange: both pods behind the Service
    victim = replaced_afterwards
    pods = {p.metadata.name: p.status.pod_ip for p in kube.ready_pods(selector(SERVICE))}
    assert set(pods.values()) <= set(kube.endpoint_addresses(SERVICE)), pods
    # the control: while Ready, the victim gets its share of the same requests (so "logged none"
    # below means something)
    ready_ids, _ = send_with_ids(gateway_url, REQUESTS)
    eventually(
        lambda: _logged_some(kube, victim, ready_ids),
        timeout=30,
        what=f"{victim} logging some of {REQUESTS} requests while it is Ready",
        hint="the gateway rotates its upstream connections (UPSTREAM_ROTATE_EVERY)",
    )

    # act: the pod's readiness fails from now on
    testbed.kubectl("exec", "-n", kube.namespace, victim, "--", "python", "-c", DRAIN)

    def left_the_endpoints() -> None:
        pod = kube.pod(victim)
        addresses = kube.endpoint_addresses(SERVICE)
        if is_ready(pod) or pods[victim] in addresses:
            raise NotYet(f"ready={is_ready(pod)}, endpoints={addresses}")

    eventually(
        left_the_endpoints,
        timeout=UNREADY_TIMEOUT,
        interval=0.5,
        what=f"{victim} NotReady and out of the {SERVICE} endpoints",
        hint="readinessProbe: /readyz, period 5 s, failureThreshold 2",
    )
    # Connections the gateway already holds to the pod carry one last answer each (with
    # `Connection: close`); kube-proxy then sends every new connection elsewhere.
    send_with_ids(gateway_url, REQUESTS // 2)
    ids, statuses = send_with_ids(gateway_url, REQUESTS)

    # assert: all answered, the unready pod logged none of them, its peer all of them
    assert statuses == [404] * REQUESTS, statuses
    peer = next(name for name in pods if name != victim)
    log_of_victim = kube.pod_log(victim, since_seconds=120)
    log_of_peer = kube.pod_log(peer, since_seconds=120)
    assert [rid for rid in ids if rid in log_of_victim] == []
    assert [rid for rid in ids if rid not in log_of_peer] == []


def _logged_some(kube: Kube, pod: str, ids: list[str]) -> int:
    log = kube.pod_log(pod, since_seconds=120)
    found = sum(1 for rid in ids if rid in log)
    if not found:
        raise NotYet(f"none of {len(ids)} request ids in {pod}'s log")
    return found


def container_pid_on_node(pod_name: str, kube: Kube) -> tuple[str, str]:
    """(kind node container, host PID in that node) of the pod's first container."""
    pod = kube.pod(pod_name)
    node = pod.spec.node_name
    container_id = pod.status.container_statuses[0].container_id.split("://", 1)[1]
    tasks = run(
        ["docker", "exec", node, "ctr", "-n", "k8s.io", "task", "ls"],
        timeout=30,
        what="ctr task ls",
    )
    for line in tasks.splitlines():
        fields = line.split()
        if fields and fields[0] == container_id:
            return node, fields[1]
    raise AssertionError(f"no task {container_id} on {node}:\n{tasks}")


def test_a_wedged_process_is_restarted_by_its_liveness_probe(
    kube: Kube, replaced_afterwards: str
) -> None:
    # arrange: the pod's container, its restart count so far
    victim = replaced_afterwards
    node, pid = container_pid_on_node(victim, kube)

    def restarts() -> int:
        pod = kube.pod(victim)
        return int(pod.status.container_statuses[0].restart_count)

    before = restarts()

    # act: freeze the process (from the node: a container cannot stop its own PID 1)
    frozen_at = time.monotonic()
    run(["docker", "exec", node, "kill", "-STOP", pid], timeout=30, what="SIGSTOP")

    def restarted_and_ready() -> None:
        pod = kube.pod(victim)
        count = int(pod.status.container_statuses[0].restart_count)
        if count <= before or not is_ready(pod):
            raise NotYet(f"restarts {count}, ready {is_ready(pod)}")

    eventually(
        restarted_and_ready,
        timeout=RESTART_TIMEOUT,
        interval=1,
        what=f"{victim} restarted by its liveness probe and Ready again",
        hint="livenessProbe: /healthz, period 10 s, failureThreshold 3; see the pod's events",
    )
    recovered = time.monotonic() - frozen_at

    # assert: same pod, one more restart, the kubelet said why
    print(f"\n{victim}: wedged process restarted and Ready after {recovered:.1f} s")
    record("liveness_restart_seconds", round(recovered, 1))
    events = kube.core.list_namespaced_event(
        kube.namespace, field_selector=f"involvedObject.name={victim}"
    ).items
    assert any("Liveness probe failed" in (e.message or "") for e in events), [
        e.message for e in events
    ]
    assert restarts() == before + 1
