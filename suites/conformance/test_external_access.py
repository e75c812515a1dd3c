"""External access: the gateway's NodePort on the host's loopback; the Ingress host
`api.demo-micro.local` through the ingress controller over HTTPS, with the certificate the
testbed made (verified against its CA), and plain HTTP redirected there; Kibana's NodePort 30561
where the overlay deploys Kibana.

HTTPS is reached at a node's address on Docker's `kind` network and the controller's HTTPS node
port (the host's 127.0.0.1 maps that port only on clusters made from 6 Dec 2026), with the
host's name as SNI and Host, as a client resolving the name to that node would send them.
"""

from __future__ import annotations

import socket
import ssl
from pathlib import Path

import httpx
import pytest

from suites import promises
from testbed import kibana, tls
from testbed.cluster import Testbed
from testbed.images import ingress_node_port

pytestmark = pytest.mark.cluster

#: The drawing's node port in front of the API (the workload the ingress routes to).
API_NODE_PORT = promises.API_NODE_PORT
NODEPORT_URL = f"http://127.0.0.1:{API_NODE_PORT.node_port}"
INGRESS_HOST = promises.INGRESS.host
KIBANA_URL = kibana.KIBANA_URL
CATALOGUE = "/api/inventory/products"


INGRESS_URL = f"http://127.0.0.1:{ingress_node_port('web')}"
HTTPS_NODE_PORT = ingress_node_port("websecure")


@pytest.fixture(scope="module")
def node_address(testbed: Testbed) -> str:
    """A node's address on Docker's `kind` network (every node serves the node ports)."""
    nodes = testbed.kube().core.list_node().items
    addresses = [a.address for n in nodes for a in n.status.addresses if a.type == "InternalIP"]
    assert addresses, f"no node of {len(nodes)} has an InternalIP"
    return str(addresses[0])


@pytest.fixture(scope="module")
def kept_ca(testbed: Testbed) -> Path:
    """The CA certificate the testbed made the Ingress's certificate with."""
    ca = tls.directory(testbed.settings.cache).ca
    assert ca.exists(), f"{ca} is missing: the testbed's deploy step makes it (testbed/tls.py)"
    return ca


def https_client(node_address: str, ca: Path) -> httpx.Client:
    """A client of the Ingress over HTTPS that trusts `ca` alone and checks the host name."""
    return httpx.Client(
        base_url=f"https://{node_address}:{HTTPS_NODE_PORT}",
        verify=tls.client_context(ca),
        headers={"Host": INGRESS_HOST},
        timeout=10,
    )


def served_certificate(node_address: str, ca: Path) -> bytes:
    """The certificate the controller serves for the host's SNI, once `ca` has verified it."""
    with (
        socket.create_connection((node_address, HTTPS_NODE_PORT), timeout=10) as raw,
        tls.client_context(ca).wrap_socket(raw, server_hostname=INGRESS_HOST) as connection,
    ):
        der = connection.getpeercert(binary_form=True)
    assert der is not None
    return ssl.DER_cert_to_PEM_cert(der).encode()


def test_the_gateway_answers_on_its_nodeport_on_the_host_loopback(testbed: Testbed) -> None:
    # act
    response = httpx.get(f"{NODEPORT_URL}{CATALOGUE}", timeout=10)

    # assert: the catalogue, from the gateway
    assert response.status_code == 200, response.text
    assert {p["sku"] for p in response.json()} >= {"SKU-CABLE", "SKU-KEYBOARD"}


def test_the_ingress_host_answers_over_https_with_a_certificate_its_ca_verifies(
    node_address: str, kept_ca: Path
) -> None:
    # act: SNI and Host are the drawing's host; the server's certificate checked against the CA
    with https_client(node_address, kept_ca) as client:
        response = client.get(CATALOGUE, extensions={"sni_hostname": INGRESS_HOST})
        version = client.get("/version", extensions={"sni_hostname": INGRESS_HOST})

    # assert: the same catalogue, and it is the gateway that answered
    assert response.status_code == 200, response.text
    assert {p["sku"] for p in response.json()} >= {"SKU-CABLE", "SKU-KEYBOARD"}
    assert version.json()["service"] == "api-gateway"


def test_the_served_certificate_is_the_testbeds_for_the_ingress_host(
    testbed: Testbed, node_address: str, kept_ca: Path
) -> None:
    served = served_certificate(node_address, kept_ca)

    assert INGRESS_HOST in tls.names(served)
    assert served == tls.directory(testbed.settings.cache).cert.read_bytes()


def test_negative_control_a_client_trusting_another_ca_refuses_the_ingress(
    node_address: str, tmp_path: Path
) -> None:
    # arrange: a CA that never signed the served certificate
    other = tls.directory(tmp_path)
    tls.ensure(other, INGRESS_HOST)

    # act / assert: the check above fails against it
    with pytest.raises(ssl.SSLCertVerificationError, match="unable to get local issuer"):
        served_certificate(node_address, other.ca)


def test_plain_http_to_the_ingress_is_redirected_to_https(testbed: Testbed) -> None:
    # act
    with httpx.Client(base_url=INGRESS_URL, headers={"Host": INGRESS_HOST}, timeout=10) as client:
        read = client.get(f"{CATALOGUE}?limit=1")
        write = client.post("/api/orders", json={})

    # assert: permanent, to the same path and query over HTTPS on the controller's HTTPS port
    https = f"https://{INGRESS_HOST}:{HTTPS_NODE_PORT}"
    assert (read.status_code, read.headers["location"]) == (301, f"{https}{CATALOGUE}?limit=1")
    # other methods get 308, which keeps the method and body
    assert (write.status_code, write.headers["location"]) == (308, f"{https}/api/orders")


def test_another_host_on_the_ingress_does_not_reach_the_gateway(
    node_address: str, kept_ca: Path
) -> None:
    # negative control: the controller routes by host, so the check above means something
    with https_client(node_address, kept_ca) as client:
        response = client.get(
            CATALOGUE,
            headers={"Host": "not-demo-micro.example"},
            extensions={"sni_hostname": INGRESS_HOST},
        )

    assert response.status_code == 404


def test_kibana_answers_on_its_nodeport_on_the_host_loopback(testbed: Testbed) -> None:
    overlay = testbed.overlay.name
    if not promises.deployed("elk", overlay):
        pytest.skip(f"not verified: the {overlay} overlay does not deploy Kibana")

    # act
    response = httpx.get(f"{KIBANA_URL}/api/status", timeout=30)

    # assert
    assert response.status_code == 200, response.text
