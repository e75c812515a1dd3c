"""The drawing's ways in: NodePort 30080 to the API, 30561 to Kibana, api.demo-micro.local."""

from suites.static.checks.external_access import (
    TRUSTED_HOSTS_KEY,
    TRUSTED_NETWORKS_KEY,
    ingress_violations,
    node_port_violations,
    trusted_proxy_violations,
)
from suites.static.controls import assert_caught, assert_holds
from suites.static.manifest import Rendered
from suites.static.test_ingress_https import traefik_addon


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


def test_behind_the_ingress_the_gateway_trusts_the_ingress_controllers_pods_only(
    rendered: Rendered,
) -> None:
    assert_holds(trusted_proxy_violations(rendered, traefik_addon(offline=True)))


def test_a_gateway_that_trusts_the_pod_network_is_caught(broken: Rendered) -> None:
    # the setting until 6 Dec 2026: kind's pod network, so every pod, and a worker's bridge
    # address that its NodePort's clients arrive from, could write its own client address
    broken.one("ConfigMap", "api-gateway-config")["data"][TRUSTED_NETWORKS_KEY] = "10.244.0.0/16"
    assert_caught(
        trusted_proxy_violations(broken, traefik_addon(offline=True)),
        f"{TRUSTED_NETWORKS_KEY} trusts 10.244.0.0/16",
    )


def test_a_gateway_behind_the_ingress_that_trusts_no_proxy_is_caught(broken: Rendered) -> None:
    del broken.one("ConfigMap", "api-gateway-config")["data"][TRUSTED_HOSTS_KEY]
    assert_caught(
        trusted_proxy_violations(broken, traefik_addon(offline=True)),
        f"sets no {TRUSTED_HOSTS_KEY}",
    )


def test_a_trusted_name_that_resolves_to_the_controllers_cluster_ip_is_caught(
    broken: Rendered,
) -> None:
    # the controller's NodePort Service: its name is one cluster IP, never a pod's address
    broken.one("ConfigMap", "api-gateway-config")["data"][TRUSTED_HOSTS_KEY] = (
        "traefik.ingress-traefik.svc"
    )
    assert_caught(
        trusted_proxy_violations(broken, traefik_addon(offline=True)), "which is not headless"
    )


def test_a_trusted_headless_service_of_other_pods_is_caught(rendered: Rendered) -> None:
    addon = traefik_addon(offline=True)
    proxies = next(o for o in addon if o["metadata"]["name"] == "traefik-proxies")
    proxies["spec"]["selector"] = {"app": "something-else"}
    assert_caught(
        trusted_proxy_violations(rendered, addon), "does not select the ingress controller's pods"
    )
