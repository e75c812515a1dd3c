"""The drawing's ways in: NodePort 30080 to the API, 30561 to Kibana, api.demo-micro.local."""

from typing import Any

import yaml

from suites.static.checks.external_access import (
    TRUSTED_PROXIES_KEY,
    ingress_violations,
    node_port_violations,
    trusted_proxy_violations,
)
from suites.static.controls import assert_caught, assert_holds
from suites.static.manifest import Rendered
from testbed.settings import REPO

#: kind's pod subnet when its config names none (kind's documented default for IPv4).
KIND_DEFAULT_POD_SUBNET = "10.244.0.0/16"


def kind_pod_network() -> str:
    """The testbed cluster's pod network, as its kind config sets it."""
    config: dict[str, Any] = yaml.safe_load((REPO / "testbed/kind/cluster.yaml").read_text())
    subnet: str = config.get("networking", {}).get("podSubnet", KIND_DEFAULT_POD_SUBNET)
    return subnet


def test_the_api_and_kibana_are_on_their_node_ports(rendered: Rendered) -> None:
    assert_holds(node_port_violations(rendered))


def test_the_ingress_routes_api_demo_micro_local_to_the_gateway(rendered: Rendered) -> None:
    assert_holds(ingress_violations(rendered))


def test_a_moved_node_port_is_caught(broken: Rendered) -> None:
    # arrange
    broken.one("Service", "api-gateway-nodeport")["spec"]["ports"][0]["nodePort"] = 30081
    # act / assert
    assert_caught(node_port_violations(broken), "does not expose port 8080 on node port 30080")


def test_a_missing_kibana_node_port_is_caught(broken: Rendered) -> None:
    broken.remove("Service", "kibana-nodeport")
    assert_caught(
        node_port_violations(broken), "Service/kibana-nodeport (NodePort 30561) is missing"
    )


def test_a_node_port_service_selecting_the_wrong_pods_is_caught(broken: Rendered) -> None:
    broken.one("Service", "api-gateway-nodeport")["spec"]["selector"] = {
        "app.kubernetes.io/name": "kibana"
    }
    assert_caught(
        node_port_violations(broken), "Service/api-gateway-nodeport does not select api-gateway"
    )


def test_an_ingress_for_another_host_is_caught(broken: Rendered) -> None:
    broken.one("Ingress", "api-gateway")["spec"]["rules"][0]["host"] = "demo-micro.local"
    assert_caught(
        ingress_violations(broken), "does not route api.demo-micro.local to api-gateway:8080"
    )


def test_an_ingress_without_a_class_is_caught(broken: Rendered) -> None:
    del broken.one("Ingress", "api-gateway")["spec"]["ingressClassName"]
    assert_caught(ingress_violations(broken), "names no ingressClassName")


def test_behind_the_ingress_the_gateway_trusts_the_pod_network_only(rendered: Rendered) -> None:
    assert_holds(trusted_proxy_violations(rendered, kind_pod_network()))


def test_a_gateway_that_trusts_every_address_is_caught(broken: Rendered) -> None:
    broken.one("ConfigMap", "api-gateway-config")["data"][TRUSTED_PROXIES_KEY] = "0.0.0.0/0"
    assert_caught(
        trusted_proxy_violations(broken, kind_pod_network()),
        "trusts 0.0.0.0/0, beyond the pod network",
    )


def test_a_gateway_behind_the_ingress_that_trusts_no_proxy_is_caught(broken: Rendered) -> None:
    del broken.one("ConfigMap", "api-gateway-config")["data"][TRUSTED_PROXIES_KEY]
    assert_caught(
        trusted_proxy_violations(broken, kind_pod_network()), f"sets no {TRUSTED_PROXIES_KEY}"
    )
