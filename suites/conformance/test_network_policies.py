"""Security: NetworkPolicies stop a service from reaching another service's database, while the
connections the system needs stay open.

Enforcement is the network plugin's job: online, kind's kindnetd; air-gapped, where the CNI is
flannel (which enforces none), kube-router's firewall beside it (testbed/addons/kube-router.yaml).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from kubernetes.client import NetworkingV1Api

from kubepromises.waiting import NotYet, eventually
from suites.resilience.live import selector
from testbed.cluster import Testbed
from testbed.kube import Kube

pytestmark = pytest.mark.cluster

CONNECT = (
    "import socket, sys\n"
    "try:\n"
    "    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3).close()\n"
    "    print('open')\n"
    "except OSError as error:\n"
    "    print(f'closed: {type(error).__name__}')\n"
)


def connect_from(testbed: Testbed, kube: Kube, workload: str, host: str, port: int) -> str:
    """'open' or 'closed: …' for a TCP connection from a pod of `workload`."""
    pod = kube.ready_pods(selector(workload))[0].metadata.name
    out = testbed.kubectl(
        "exec",
        "-n",
        kube.namespace,
        pod,
        "--",
        "python",
        "-c",
        CONNECT,
        host,
        str(port),
        timeout=60,
    )
    return out.strip().splitlines()[-1]


@pytest.mark.parametrize(
    ("client", "database", "port"),
    [
        ("order-service", "order-db", 5432),
        ("inventory-service", "inventory-db", 5432),
        ("notification-service", "notification-db", 27017),
    ],
)
def test_a_service_reaches_its_own_database(
    testbed: Testbed, kube: Kube, client: str, database: str, port: int
) -> None:
    # the control: what the system needs is allowed (so "closed" below means the policy)
    assert connect_from(testbed, kube, client, database, port) == "open"


@pytest.mark.parametrize(
    ("client", "database", "port"),
    [
        ("notification-service", "order-db", 5432),
        ("order-service", "inventory-db", 5432),
        ("api-gateway", "order-db", 5432),
        ("inventory-service", "notification-db", 27017),
    ],
)
def test_a_service_cannot_reach_another_services_database(
    testbed: Testbed, kube: Kube, client: str, database: str, port: int
) -> None:
    assert connect_from(testbed, kube, client, database, port).startswith("closed")


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
    testbed: Testbed, kube: Kube, extra_policies: list[str]
) -> None:
    # "closed" above is the policies' doing, not an unreachable address: allow one forbidden
    # call and it opens; remove the allowance and it closes again.
    caller, database, port = "notification-service", "order-db", 5432
    api = NetworkingV1Api(kube.core.api_client)
    assert connect_from(testbed, kube, caller, database, port).startswith("closed")

    for policy in allowing(caller, database, port):
        created = api.create_namespaced_network_policy(kube.namespace, policy)
        extra_policies.append(created.metadata.name)

    def state_is(wanted: str) -> None:
        observed = connect_from(testbed, kube, caller, database, port)
        if not observed.startswith(wanted):
            raise NotYet(observed)

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
