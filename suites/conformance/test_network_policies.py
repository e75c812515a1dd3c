"""Security: the NetworkPolicies are what keeps a data store to its callers. That every data store
refuses every other workload, and every call of the drawing opens, is the generic live suite's
(test_drawing_live.py); here, that "refused" is the policies' doing: allow one forbidden call and
it opens, remove the allowance and it closes. And the log store takes no logs from another
namespace, even from a pod labelled as a log shipper there (anyone may label their own pods).

Enforcement is the network plugin's job: online, kind's kindnetd; air-gapped, where the CNI is
flannel (which enforces none), kube-router's firewall beside it (testbed/addons/kube-router.yaml).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator

import pytest
from kubernetes import client
from kubernetes.client import NetworkingV1Api

from kubepromises.live import connect_from
from kubepromises.waiting import NotYet, eventually
from suites import promises
from suites.resilience.live import selector
from suites.static.checks.network_policies import LOG_SHIPPER_LABEL, LOG_STORE
from testbed.kube import Kube

pytestmark = pytest.mark.cluster

#: A namespace of the tests' own, deleted afterwards: "another namespace" to the system.
ELSEWHERE = "demo-micro-elsewhere"
#: The log store's port, as drawn.
LOG_STORE_PORT = promises.workload(LOG_STORE).port


def reach(kube: Kube, caller: str, host: str, port: int) -> str | None:
    """None when a pod of `caller` opens a TCP connection to host:port, else what it met (the
    generic live suite's probe, kubepromises.live.connect_from)."""
    pod = kube.ready_pods(selector(caller))[0].metadata.name
    return connect_from(kube.core.api_client, kube.namespace, pod, host, port)


def allowing(client_name: str, database: str, port: int) -> list[dict[str, object]]:
    """Two policies that open `client_name` → `database`: its egress and the database's ingress."""

    def peer(name: str) -> dict[str, object]:
        return {"podSelector": {"matchLabels": {"app.kubernetes.io/name": name}}}

    def policy(direction: str, selected: str, rule: dict[str, object]) -> dict[str, object]:
        return {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": f"conformance-allow-{client_name}-to-{database}-{direction}"},
            "spec": {**peer(selected), "policyTypes": [direction.title()], direction: [rule]},
        }

    ports = [{"protocol": "TCP", "port": port}]
    return [
        policy("egress", client_name, {"to": [peer(database)], "ports": ports}),
        policy("ingress", database, {"from": [peer(client_name)], "ports": ports}),
    ]


def state_is(probe: Callable[[], str | None], wanted: str) -> None:
    """NotYet unless the connection `probe` tries (None: it opened) is `wanted`: open or
    closed."""
    met = probe()
    if ("open" if met is None else "closed") != wanted:
        raise NotYet(met or "open")


@pytest.fixture
def extra_policies(kube: Kube) -> Iterator[list[str]]:
    """Names of the policies the test creates; those still there are deleted afterwards."""
    created: list[str] = []
    yield created
    api = NetworkingV1Api(kube.core.api_client)
    for name in created:
        api.delete_namespaced_network_policy(name, kube.namespace)


def test_negative_control_a_policy_that_allows_the_call_opens_it_and_its_removal_closes_it(
    kube: Kube, extra_policies: list[str]
) -> None:
    # "refused" is the policies' doing, not an unreachable address: allow one forbidden call and
    # it opens; remove the allowance and it closes again.
    caller, database, port = "notification-service", "order-db", 5432
    api = NetworkingV1Api(kube.core.api_client)
    assert reach(kube, caller, database, port) is not None

    for policy in allowing(caller, database, port):
        created = api.create_namespaced_network_policy(kube.namespace, policy)
        extra_policies.append(created.metadata.name)

    def probe() -> str | None:
        return reach(kube, caller, database, port)

    eventually(
        lambda: state_is(probe, "open"),
        timeout=60,
        interval=2,
        what=f"{caller} → {database}:{port} open once a policy allows it",
        hint="kubectl -n kube-system logs ds/kube-router (offline) or the CNI's logs",
    )
    while extra_policies:
        api.delete_namespaced_network_policy(extra_policies.pop(), kube.namespace)
    eventually(
        lambda: state_is(probe, "closed"),
        timeout=60,
        interval=2,
        what=f"{caller} → {database}:{port} closed again once the allowance is removed",
    )


@pytest.fixture(scope="module")
def shipper_elsewhere(kube: Kube) -> Iterator[str]:
    """A pod labelled as a log shipper in a namespace of its own (ELSEWHERE), running the
    gateway's image (it has python3 for the probe); its name. The namespace goes afterwards."""
    (container,) = kube.apps.read_namespaced_deployment(
        "api-gateway", kube.namespace
    ).spec.template.spec.containers
    kube.core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=ELSEWHERE)))
    try:
        key, value = LOG_SHIPPER_LABEL
        pod = client.V1Pod(
            metadata=client.V1ObjectMeta(name="log-shipper", labels={key: value}),
            spec=client.V1PodSpec(
                automount_service_account_token=False,
                containers=[
                    client.V1Container(
                        name="probe",
                        image=container.image,
                        image_pull_policy=container.image_pull_policy,
                        command=["python3", "-c", "import time; time.sleep(3600)"],
                    )
                ],
            ),
        )
        kube.core.create_namespaced_pod(ELSEWHERE, pod)

        def ready() -> None:
            status = kube.core.read_namespaced_pod("log-shipper", ELSEWHERE).status
            if not any(c.type == "Ready" and c.status == "True" for c in status.conditions or []):
                raise NotYet(status.phase)

        eventually(ready, timeout=60, interval=1, what=f"a probe pod Ready in {ELSEWHERE}")
        yield "log-shipper"
    finally:
        kube.core.delete_namespace(ELSEWHERE, grace_period_seconds=0)


def reach_log_store_from_elsewhere(kube: Kube, pod: str) -> str | None:
    """None when the pod in ELSEWHERE opens a connection to the log store's Service."""
    host = f"{LOG_STORE}.{kube.namespace}.svc.cluster.local"
    return connect_from(kube.core.api_client, ELSEWHERE, pod, host, LOG_STORE_PORT)


def test_a_log_shipper_of_another_namespace_cannot_reach_the_log_store(
    kube: Kube, shipper_elsewhere: str
) -> None:
    # act: a pod labelled as a log shipper, in another namespace, connects to the log store
    met = reach_log_store_from_elsewhere(kube, shipper_elsewhere)

    # assert: refused (dropped by the log store's NetworkPolicy)
    assert met is not None, f"a pod of {ELSEWHERE} labelled {LOG_SHIPPER_LABEL} reached {LOG_STORE}"


def test_negative_control_the_log_store_open_to_every_namespace_admits_it(
    kube: Kube, shipper_elsewhere: str
) -> None:
    # arrange: the log store's policy as it was before 5 Dec 2026: log shippers of any namespace
    api = NetworkingV1Api(kube.core.api_client)
    policy = api.read_namespaced_network_policy(LOG_STORE, kube.namespace)
    before = copy.deepcopy(policy.spec)
    key, value = LOG_SHIPPER_LABEL
    for rule in policy.spec.ingress:
        for peer in rule._from or []:
            if peer.pod_selector and (peer.pod_selector.match_labels or {}).get(key) == value:
                peer.namespace_selector = client.V1LabelSelector()

    def probe() -> str | None:
        return reach_log_store_from_elsewhere(kube, shipper_elsewhere)

    # act: that policy in place, then the real one back
    api.replace_namespaced_network_policy(LOG_STORE, kube.namespace, policy)
    try:
        # assert: the pod elsewhere now reaches the log store, so "refused" above is the policy's
        eventually(
            lambda: state_is(probe, "open"),
            timeout=60,
            interval=2,
            what=f"{ELSEWHERE} → {LOG_STORE}:{LOG_STORE_PORT} open under the old policy",
            hint="kubectl -n kube-system logs ds/kube-router (offline) or the CNI's logs",
        )
    finally:
        policy = api.read_namespaced_network_policy(LOG_STORE, kube.namespace)
        policy.spec = before
        api.replace_namespaced_network_policy(LOG_STORE, kube.namespace, policy)
    eventually(
        lambda: state_is(probe, "closed"),
        timeout=60,
        interval=2,
        what=f"{ELSEWHERE} → {LOG_STORE}:{LOG_STORE_PORT} closed again under the real policy",
    )
