"""The drawing's ways in: NodePorts 30080 (API) and 30561 (Kibana), the Ingress host over HTTPS
(plain HTTP redirected), and whom the gateway believes about the client behind them."""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Network, IPv6Network, ip_network

from suites import promises
from suites.static.manifest import Obj, Rendered, ref


def node_port_violations(rendered: Rendered) -> list[str]:
    violations = []
    for promised in promises.NODE_PORTS:
        if not rendered.deploys(promised.piece):
            continue
        service = rendered.get("Service", promised.service)
        if service is None:
            violations.append(
                f"Service/{promised.service} (NodePort {promised.node_port}) is missing"
            )
            continue
        spec = service["spec"]
        if spec.get("type") != "NodePort":
            violations.append(f"{ref(service)} is {spec.get('type', 'ClusterIP')}, not NodePort")
        if spec.get("selector", {}).get(promises.APP_LABEL) != promised.workload:
            violations.append(f"{ref(service)} does not select {promised.workload}")
        if not any(
            p.get("nodePort") == promised.node_port and p["port"] == promised.port
            for p in spec["ports"]
        ):
            violations.append(
                f"{ref(service)} does not expose port {promised.port} "
                f"on node port {promised.node_port}"
            )
    used = [
        p.get("nodePort")
        for s in rendered.of_kind("Service")
        for p in s["spec"]["ports"]
        if p.get("nodePort")
    ]
    violations += [f"node port {port} is used twice" for port in set(used) if used.count(port) > 1]
    return violations


def ingress_violations(rendered: Rendered) -> list[str]:
    if not rendered.deploys(promises.INGRESS.piece):
        return []
    route = promises.INGRESS
    ingresses = rendered.of_kind("Ingress")
    if len(ingresses) != 1:
        return [f"{len(ingresses)} Ingresses, the drawing shows 1"]
    ingress = ingresses[0]
    violations = []
    if not ingress["spec"].get("ingressClassName"):
        violations.append(f"{ref(ingress)} names no ingressClassName")
    backends = [
        (
            rule.get("host"),
            path["backend"]["service"]["name"],
            path["backend"]["service"]["port"].get("number"),
        )
        for rule in ingress["spec"].get("rules", [])
        for path in rule.get("http", {}).get("paths", [])
    ]
    if (route.host, route.service, route.port) not in backends:
        violations.append(
            f"{ref(ingress)} does not route {route.host} to {route.service}:{route.port}"
        )
    if rendered.get("Service", route.service) is None:
        violations.append(f"{ref(ingress)} routes to Service/{route.service}, which is missing")
    return violations


def ingress_tls_violations(rendered: Rendered) -> list[str]:
    """The Ingress serves the drawing's host over HTTPS: its `spec.tls` lists the host with the
    Secret of its certificate (which the testbed makes at deploy time, testbed/tls.py)."""
    if not rendered.deploys(promises.INGRESS.piece):
        return []
    host = promises.INGRESS.host
    violations = []
    for ingress in rendered.of_kind("Ingress"):
        entries = [e for e in ingress["spec"].get("tls") or [] if host in (e.get("hosts") or [])]
        if not entries:
            violations.append(f"{ref(ingress)} has no TLS for {host}")
        violations += [
            f"{ref(ingress)}'s TLS for {host} names no Secret"
            for entry in entries
            if not entry.get("secretName")
        ]
    return violations


#: Traefik's flags for its web entry point's redirection (testbed/addons/traefik.yaml).
REDIRECTION = "--entryPoints.web.http.redirections.entryPoint."


def http_redirect_violations(addon: Sequence[Obj]) -> list[str]:
    """The ingress controller (the add-on's objects) answers plain HTTP with a permanent
    redirect to HTTPS on the node port where its TLS entry point listens."""
    deployment = next((o for o in addon if o["kind"] == "Deployment"), None)
    service = next((o for o in addon if o["kind"] == "Service"), None)
    if deployment is None or service is None:
        return ["the ingress controller's add-on has no Deployment or no Service"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    flags = dict(arg.split("=", 1) for arg in container.get("args", []) if "=" in arg)
    ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
    node_ports = {p["targetPort"]: p.get("nodePort") for p in service["spec"]["ports"]}
    violations = []
    if "websecure" not in ports or "websecure" not in node_ports:
        violations.append(f"{ref(service)} exposes no websecure port")
    elif flags.get("--entryPoints.websecure.address") != f":{ports['websecure']}":
        violations.append(f"Traefik's websecure entry point does not listen on {ports}")
    if flags.get("--entryPoints.websecure.http.tls") != "true":
        violations.append("Traefik's websecure entry point does not terminate TLS")
    if flags.get(REDIRECTION + "scheme") != "https":
        violations.append("Traefik's web entry point does not redirect to https")
    if flags.get(REDIRECTION + "permanent", "true") != "true":
        violations.append("Traefik's redirect to https is not permanent")
    target = f":{node_ports.get('websecure')}"
    if flags.get(REDIRECTION + "to") != target:
        violations.append(
            f"Traefik redirects HTTP to {flags.get(REDIRECTION + 'to')}, not to the HTTPS node "
            f"port {target}"
        )
    return violations


#: The gateway setting that names the proxies whose X-Forwarded-For it reads.
TRUSTED_PROXIES_KEY = "TRUSTED_PROXY_CIDRS"


def trusted_proxy_violations(rendered: Rendered, pod_network: str) -> list[str]:
    """Behind the Ingress the gateway reads X-Forwarded-For from the ingress controller's pods
    only: TRUSTED_PROXY_CIDRS is set, and every network in it lies inside the cluster's pod
    network (a client of the NodePort arrives from a node address and must not be trusted)."""
    if not rendered.deploys(promises.INGRESS.piece):
        return []
    config = rendered.get("ConfigMap", "api-gateway-config")
    value = (config or {}).get("data", {}).get(TRUSTED_PROXIES_KEY, "")
    entries = [entry.strip() for entry in value.split(",") if entry.strip()]
    if not entries:
        return [
            f"ConfigMap/api-gateway-config sets no {TRUSTED_PROXIES_KEY}: behind the Ingress "
            "every client would be the ingress controller"
        ]
    pods = ip_network(pod_network)
    violations = []
    for entry in entries:
        try:
            network = ip_network(entry)
        except ValueError:
            violations.append(f"{TRUSTED_PROXIES_KEY} entry {entry!r} is not a network")
            continue
        if not _inside(network, pods):
            violations.append(
                f"{TRUSTED_PROXIES_KEY} trusts {entry}, beyond the pod network {pod_network}"
            )
    return violations


def _inside(network: IPv4Network | IPv6Network, outer: IPv4Network | IPv6Network) -> bool:
    if isinstance(network, IPv4Network) and isinstance(outer, IPv4Network):
        return network.subnet_of(outer)
    if isinstance(network, IPv6Network) and isinstance(outer, IPv6Network):
        return network.subnet_of(outer)
    return False
