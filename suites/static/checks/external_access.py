"""The drawing's ways in: NodePorts 30080 (API) and 30561 (Kibana), the Ingress host over HTTPS
(plain HTTP redirected), and whom the gateway believes about the client behind them."""

from __future__ import annotations

from collections.abc import Sequence

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


#: The gateway settings that name the proxies whose X-Forwarded-For it reads: networks, and
#: names resolved again and again (system/api_gateway/proxies.py).
TRUSTED_NETWORKS_KEY = "TRUSTED_PROXY_CIDRS"
TRUSTED_HOSTS_KEY = "TRUSTED_PROXY_HOSTS"


def _entries(data: dict[str, str], key: str) -> list[str]:
    return [entry.strip() for entry in (data.get(key) or "").split(",") if entry.strip()]


def trusted_proxy_violations(rendered: Rendered, addon: Sequence[Obj]) -> list[str]:
    """Behind the Ingress the gateway reads X-Forwarded-For from the ingress controller's pods
    alone (the add-on's objects): it trusts no network (a network wide enough for pods that
    move trusts other pods too, and the nodes' bridge addresses NodePort clients arrive from),
    and each name it trusts is a headless Service of the controller's pods, which resolves to
    exactly their addresses."""
    if not rendered.deploys(promises.INGRESS.piece):
        return []
    config = rendered.get("ConfigMap", "api-gateway-config")
    data = (config or {}).get("data") or {}
    violations = [
        f"{TRUSTED_NETWORKS_KEY} trusts {network}: every pod and node address in it could name "
        "its own client"
        for network in _entries(data, TRUSTED_NETWORKS_KEY)
    ]
    hosts = _entries(data, TRUSTED_HOSTS_KEY)
    if not hosts:
        violations.append(
            f"ConfigMap/api-gateway-config sets no {TRUSTED_HOSTS_KEY}: behind the Ingress "
            "every client would be the ingress controller"
        )
    controller = next((o for o in addon if o["kind"] == "Deployment"), None)
    labels = (controller or {}).get("spec", {}).get("template", {}).get("metadata", {})
    pod_labels = labels.get("labels") or {}
    for host in hosts:
        name, _, rest = host.partition(".")
        namespace = rest.partition(".")[0]
        service = next(
            (
                o
                for o in addon
                if o["kind"] == "Service"
                and o["metadata"]["name"] == name
                and o["metadata"].get("namespace") == namespace
            ),
            None,
        )
        if service is None:
            violations.append(
                f"{TRUSTED_HOSTS_KEY} names {host}: no Service {namespace}/{name} in the ingress "
                "controller's add-on"
            )
            continue
        spec = service["spec"]
        if spec.get("clusterIP") != "None":
            violations.append(
                f"{TRUSTED_HOSTS_KEY} names {host}, which is not headless: it resolves to a "
                "cluster IP, never to the controller's pods"
            )
        selector = spec.get("selector") or {}
        if not selector or any(pod_labels.get(k) != v for k, v in selector.items()):
            violations.append(
                f"{TRUSTED_HOSTS_KEY} names {host}, whose selector {selector} does not select "
                f"the ingress controller's pods ({pod_labels})"
            )
    return violations
