"""External access: the gateway's NodePort on the host's loopback, the Ingress host
`api.demo-micro.local` through the ingress controller (127.0.0.1:30800), and Kibana's NodePort
30561 where the overlay deploys Kibana.
"""

from __future__ import annotations

import httpx
import pytest

from suites import promises
from testbed.cluster import Testbed

pytestmark = pytest.mark.cluster

#: The drawing's node port in front of the API (the workload the ingress routes to).
API_NODE_PORT = promises.API_NODE_PORT
NODEPORT_URL = f"http://127.0.0.1:{API_NODE_PORT.node_port}"
INGRESS_URL = "http://127.0.0.1:30800"
INGRESS_HOST = "api.demo-micro.local"
KIBANA_URL = "http://127.0.0.1:30561"


def catalogue(base_url: str, host: str | None = None) -> httpx.Response:
    headers = {"Host": host} if host else {}
    with httpx.Client(base_url=base_url, timeout=10) as client:
        return client.get("/api/inventory/products", headers=headers)


def test_the_gateway_answers_on_its_nodeport_on_the_host_loopback(testbed: Testbed) -> None:
    # act
    response = catalogue(NODEPORT_URL)

    # assert: the catalogue, from the gateway
    assert response.status_code == 200, response.text
    assert {p["sku"] for p in response.json()} >= {"SKU-CABLE", "SKU-KEYBOARD"}


def test_the_ingress_host_reaches_the_gateway(testbed: Testbed) -> None:
    # act
    response = catalogue(INGRESS_URL, host=INGRESS_HOST)
    version = httpx.get(f"{INGRESS_URL}/version", headers={"Host": INGRESS_HOST}, timeout=10)

    # assert: the same catalogue, and it is the gateway that answered
    assert response.status_code == 200, response.text
    assert {p["sku"] for p in response.json()} >= {"SKU-CABLE", "SKU-KEYBOARD"}
    assert version.json()["service"] == "api-gateway"


def test_another_host_on_the_ingress_does_not_reach_the_gateway(testbed: Testbed) -> None:
    # negative control: the controller routes by host, so the check above means something
    response = catalogue(INGRESS_URL, host="not-demo-micro.example")

    assert response.status_code == 404


def test_kibana_answers_on_its_nodeport_on_the_host_loopback(testbed: Testbed) -> None:
    overlay = testbed.overlay.name
    if not promises.deployed("elk", overlay):
        pytest.skip(f"not verified: the {overlay} overlay does not deploy Kibana")

    # act
    response = httpx.get(f"{KIBANA_URL}/api/status", timeout=30)

    # assert
    assert response.status_code == 200, response.text
