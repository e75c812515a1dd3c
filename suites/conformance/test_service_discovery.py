"""Service discovery and load balancing: names resolve in-cluster; both replicas get traffic."""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from kubepromises.waiting import NotYet, eventually
from suites import promises
from suites.resilience.live import selector
from testbed.cluster import Testbed as Bed
from testbed.kube import Kube, is_ready
from testbed.traffic import NOTIFICATIONS_PATH

pytestmark = pytest.mark.cluster

#: A route through the gateway per backend that reaches the backend on every request
#: (an unknown SKU is never cached).
BACKEND_ROUTES = {
    "inventory-service": "/api/inventory/products/SKU-PROBE-UNKNOWN",
    "order-service": "/api/orders?limit=1",
    "notification-service": NOTIFICATIONS_PATH,
}
#: The gateway retires every 20th pooled connection (UPSTREAM_ROTATE_EVERY): 200 requests open
#: at least ten fresh connections, each of which kube-proxy sends to a random ready pod.
REQUESTS_PER_BACKEND = 200
#: Prints {name: address or null} for the names given, as a pod resolves them.
RESOLVE = """import json, socket, sys
def address(name):
    try:
        return socket.getaddrinfo(name, None)[0][4][0]
    except socket.gaierror:
        return None
print(json.dumps({n: address(n) for n in sys.argv[1:]}))
"""


def resolve_in_cluster(testbed: Bed, kube: Kube, names: list[str]) -> dict[str, str | None]:
    """What a gateway pod (it runs python) resolves each name to (None: it does not)."""
    pod = kube.ready_pods(selector("api-gateway"))[0].metadata.name
    out = testbed.kubectl(
        "exec", "-n", promises.NAMESPACE, pod, "--", "python", "-c", RESOLVE, *names, timeout=60
    )
    resolved: dict[str, str | None] = json.loads(out.strip().splitlines()[-1])
    return resolved


def test_every_service_resolves_by_cluster_dns_from_inside_a_pod(
    testbed: Bed, kube: Kube, overlay: str
) -> None:
    # arrange: every Service name the overlay promises
    names = [w.name for w in promises.workloads_in(overlay)]
    cluster_ips = {
        s.metadata.name: s.spec.cluster_ip
        for s in kube.core.list_namespaced_service(promises.NAMESPACE).items
    }

    # act: resolve them all from inside the cluster
    resolved = resolve_in_cluster(testbed, kube, names)

    # assert: each name resolves to its Service's cluster IP
    assert resolved == {name: cluster_ips[name] for name in names}


def test_negative_control_a_name_without_a_service_does_not_resolve(
    testbed: Bed, kube: Kube
) -> None:
    # arrange: a name no Service has (a resolver that answers anything would pass the above)
    missing = f"no-such-service-{uuid.uuid4().hex[:8]}"

    # act
    resolved = resolve_in_cluster(testbed, kube, [missing, "order-service"])

    # assert: the missing one does not resolve; a real one beside it does
    assert resolved[missing] is None, resolved
    assert resolved["order-service"] is not None, resolved


@pytest.mark.parametrize("backend", sorted(BACKEND_ROUTES))
def test_traffic_through_the_gateway_reaches_both_replicas_of_a_backend(
    kube: Kube, gateway_url: str, backend: str
) -> None:
    # arrange: request ids of our own, which the gateway forwards and every service logs
    ids = [uuid.uuid4().hex for _ in range(REQUESTS_PER_BACKEND)]
    pods = [p.metadata.name for p in kube.pods(selector(backend)) if is_ready(p)]

    # act: concurrent requests, so the gateway opens more than one upstream connection
    with httpx.Client(base_url=gateway_url, timeout=10) as api, ThreadPoolExecutor(8) as pool:
        statuses = list(
            pool.map(
                lambda rid: (
                    api.get(BACKEND_ROUTES[backend], headers={"X-Request-ID": rid}).status_code
                ),
                ids,
            )
        )

    # assert: every pod logged some of our ids
    assert all(s < 500 for s in statuses), statuses

    def ids_per_pod() -> dict[str, int]:
        seen = {}
        for pod in pods:
            log = kube.pod_log(pod, since_seconds=120)
            seen[pod] = sum(1 for rid in ids if rid in log)
        if sum(seen.values()) < len(ids) or 0 in seen.values():
            raise NotYet(seen)
        return seen

    seen = eventually(
        ids_per_pod,
        timeout=20,
        interval=1,
        what=f"our {len(ids)} request ids in the logs of every {backend} pod",
        hint="Service load balancing is per connection: is UPSTREAM_ROTATE_EVERY 0?",
    )
    print(f"\n{backend}: request ids per pod {seen}")
