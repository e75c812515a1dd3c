"""The kind config (testbed/kind/cluster.yaml) maps to the host's loopback every port the suites
reach the testbed on: the drawing's node ports (API, Kibana) and the ingress controller's (its
add-on's Service, testbed/addons/traefik.yaml, the one place they are written). The testbed's
pre-flight checks the same ports are free (`Settings.host_ports`, read from the kind config)."""

from __future__ import annotations

import pytest
import yaml

from testbed.images import ADDONS, ingress_node_port
from testbed.settings import DRAWING, Settings, mapped_ports

INGRESS_PORTS = ("web", "websecure")


def reached_ports() -> set[int]:
    """The node ports the suites reach from the host."""
    return {p.node_port for p in DRAWING.node_ports} | {ingress_node_port(n) for n in INGRESS_PORTS}


def unmapped(kind_config: str) -> list[int]:
    """The ports the suites reach that this kind config leaves unmapped."""
    return sorted(reached_ports() - set(mapped_ports(kind_config)))


def test_every_port_the_suites_reach_is_mapped_to_the_hosts_loopback() -> None:
    text = Settings.from_env().kind_config.read_text()
    config = yaml.safe_load(text)

    mappings = [m for node in config["nodes"] for m in node.get("extraPortMappings") or []]

    assert unmapped(text) == []
    assert all(m["listenAddress"] == "127.0.0.1" for m in mappings), mappings
    assert all(m["containerPort"] == m["hostPort"] for m in mappings), mappings


def test_negative_control_a_config_without_the_https_mapping_is_caught() -> None:
    config = yaml.safe_load(Settings.from_env().kind_config.read_text())
    https = ingress_node_port("websecure")
    for node in config["nodes"]:
        node["extraPortMappings"] = [
            m for m in node.get("extraPortMappings") or [] if m["hostPort"] != https
        ]

    assert unmapped(yaml.safe_dump(config)) == [https]


def test_the_testbed_checks_the_mapped_ports_are_free() -> None:
    assert set(Settings.from_env().host_ports) == reached_ports()


def test_plain_http_is_redirected_to_the_https_node_port() -> None:
    """The controller's redirect names the port the host reaches HTTPS on (its entry point's own
    port, 8443 in the pod, is not reachable from the host)."""
    documents = yaml.safe_load_all((ADDONS / "traefik.yaml").read_text())
    deployment = next(d for d in documents if d and d["kind"] == "Deployment")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]

    redirects = [a for a in container["args"] if "redirections.entryPoint.to=" in a]

    assert redirects == [
        f"--entryPoints.web.http.redirections.entryPoint.to=:{ingress_node_port('websecure')}"
    ]


@pytest.mark.parametrize("text", ["nodes: []", "kind: Cluster"])
def test_a_config_that_maps_nothing_maps_no_port(text: str) -> None:
    assert mapped_ports(text) == ()
