"""Security: the NetworkPolicies are what keeps a data store to its callers. That every data store
refuses every other workload, and every call of the drawing opens, is the generic live suite's
(test_drawing_live.py); here, that "refused" is the policies' doing: allow one forbidden call and
it opens, remove the allowance and it closes.

Enforcement is the network plugin's job: online, kind's kindnetd; air-gapped, where the CNI is
flannel (which enforces none), kube-router's firewall beside it (testbed/addons/kube-router.yaml).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from kubernetes.client import NetworkingV1Api

from kubepromises.live import connect_from
from kubepromises.waiting import NotYet, eventually
from suites.resilience.live import selector
from testbed.kube import Kube

pytestmark = pytest.mark.cluster


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

    def state_is(wanted: str) -> None:
        met = reach(kube, caller, database, port)
        if ("open" if met is None else "closed") != wanted:
            raise NotYet(met or "open")

    eventually(
        lambda: state_is("open"),
        timeout=60,
        interval=2,
        what=f"{caller} → {database}:{port} open once a policy allows it",
        hint="kubectl -n kube-system logs ds/kube-router (offline) or the CNI's logs",
    )
    while extra_policies:
        api.delete_namespaced_network_policy(extra_policies.pop(), kube.namespace)
    eventually(
        lambda: state_is("closed"),
        timeout=60,
        interval=2,
        what=f"{caller} → {database}:{port} closed again once the allowance is removed",
    )
