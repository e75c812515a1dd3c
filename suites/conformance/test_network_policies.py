"""Security: NetworkPolicies stop a service from reaching another service's database, while the
connections the system needs stay open.

Enforcement is the network plugin's job: online, kind's kindnetd; air-gapped, where the CNI is
flannel (which enforces none), kube-router's firewall beside it (testbed/addons/kube-router.yaml).
"""

from __future__ import annotations

import pytest

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
        "exec", "-n", kube.namespace, pod, "--", "python", "-c", CONNECT, host, str(port),
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
