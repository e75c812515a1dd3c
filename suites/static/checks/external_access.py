"""The drawing's ways in: NodePorts 30080 (API) and 30561 (Kibana), the Ingress host."""

from __future__ import annotations

from suites import promises
from suites.static.manifest import Rendered, ref


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
