"""NetworkPolicies: deny by default, DNS for all, each database reachable from its service only.

A small evaluator of the NetworkPolicy semantics our policies use (pod and namespace selectors,
numeric ports) answers "may A connect to B on port P", for pods of the namespace and for a
client outside it.
"""

from __future__ import annotations

from dataclasses import dataclass

from suites import promises
from suites.static.manifest import Obj, Rendered, label_selector_matches, pod_labels, ref

DNS_PORT = 53
#: The log store, and the label its policy admits log shippers by (the log-store component).
LOG_STORE = "elasticsearch"
LOG_SHIPPER_LABEL = ("demo-micro.dev/log-shipper", "true")


@dataclass(frozen=True)
class Peer:
    """One end of a connection: a pod of our namespace (by labels), or a pod elsewhere."""

    labels: tuple[tuple[str, str], ...]
    in_namespace: bool
    namespace_labels: tuple[tuple[str, str], ...] = ()

    @property
    def label_dict(self) -> dict[str, str]:
        return dict(self.labels)


OUTSIDER = Peer(labels=(), in_namespace=False)
KUBE_DNS = Peer(
    labels=(("k8s-app", "kube-dns"),),
    in_namespace=False,
    namespace_labels=(("kubernetes.io/metadata.name", "kube-system"),),
)


def pod_peer(rendered: Rendered, name: str) -> Peer:
    return Peer(tuple(sorted(pod_labels(rendered.workload(name)).items())), in_namespace=True)


def _peer_matches(rule_peer: Obj, peer: Peer) -> bool:
    if "ipBlock" in rule_peer:
        return not peer.in_namespace
    namespace_selector = rule_peer.get("namespaceSelector")
    pod_selector = rule_peer.get("podSelector", {})
    if namespace_selector is None:
        return peer.in_namespace and label_selector_matches(pod_selector, peer.label_dict)
    namespace_labels = dict(peer.namespace_labels)
    if peer.in_namespace:
        namespace_labels["kubernetes.io/metadata.name"] = promises.NAMESPACE
    elif not peer.namespace_labels and namespace_selector:
        # An unknown foreign namespace only matches an empty namespaceSelector.
        return False
    return label_selector_matches(namespace_selector, namespace_labels) and label_selector_matches(
        pod_selector, peer.label_dict
    )


def _port_matches(rule: Obj, port: int, protocol: str) -> bool:
    ports = rule.get("ports")
    return not ports or any(
        p.get("port") in (None, port) and p.get("protocol", "TCP") == protocol for p in ports
    )


def _policies(rendered: Rendered, pod: Peer, direction: str) -> list[Obj]:
    return [
        policy
        for policy in rendered.of_kind("NetworkPolicy")
        if direction in policy["spec"].get("policyTypes", ["Ingress"])
        and label_selector_matches(policy["spec"]["podSelector"], pod.label_dict)
    ]


def _admitted(
    rendered: Rendered, pod: Peer, other: Peer, port: int, protocol: str, direction: str
) -> bool:
    """Whether `pod`'s policies let traffic in from (Ingress) or out to (Egress) `other`."""
    if not pod.in_namespace:
        return True  # Policies elsewhere are not ours to judge.
    policies = _policies(rendered, pod, direction)
    if not policies:
        return True
    rules_key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    return any(
        _port_matches(rule, port, protocol)
        and (not rule.get(peers_key) or any(_peer_matches(p, other) for p in rule[peers_key]))
        for policy in policies
        for rule in policy["spec"].get(rules_key, [])
    )


def allowed(
    rendered: Rendered, source: Peer, target: Peer, port: int, protocol: str = "TCP"
) -> bool:
    """Whether the policies let `source` open a connection to `target` on `port`."""
    return _admitted(rendered, source, target, port, protocol, "Egress") and _admitted(
        rendered, target, source, port, protocol, "Ingress"
    )


def default_deny_violations(rendered: Rendered) -> list[str]:
    for policy in rendered.of_kind("NetworkPolicy"):
        spec = policy["spec"]
        if (
            spec["podSelector"] == {}
            and set(spec.get("policyTypes", [])) == {"Ingress", "Egress"}
            and not spec.get("ingress")
            and not spec.get("egress")
        ):
            return []
    return ["no NetworkPolicy denies all ingress and egress by default"]


def dns_violations(rendered: Rendered) -> list[str]:
    return [
        f"{ref(w)} pods may not resolve names (DNS to kube-dns:{DNS_PORT})"
        for w in rendered.pod_workloads()
        for protocol in ("UDP",)
        if not allowed(
            rendered, pod_peer(rendered, w["metadata"]["name"]), KUBE_DNS, DNS_PORT, protocol
        )
    ]


def database_isolation_violations(rendered: Rendered) -> list[str]:
    """Each database accepts its own service's pods and nobody else's, inside or outside."""
    violations = []
    for database, clients in promises.DATABASE_CLIENTS.items():
        target = pod_peer(rendered, database)
        port = promises.workload(database).port
        for workload in rendered.pod_workloads():
            name = workload["metadata"]["name"]
            may = allowed(rendered, pod_peer(rendered, name), target, port)
            if may and name not in clients:
                violations.append(
                    f"{name} may connect to {database}:{port}, "
                    f"which only {', '.join(sorted(clients))} should"
                )
            if not may and name in clients:
                violations.append(f"{name} may not connect to its database {database}:{port}")
        if allowed(rendered, OUTSIDER, target, port):
            violations.append(f"pods outside the namespace may connect to {database}:{port}")
    return violations


def call_violations(rendered: Rendered) -> list[str]:
    """Every connection the system needs is allowed, and the entry points are open to anyone."""
    deployed = {w.name for w in rendered.promised_workloads()}
    deployed |= {a.name for a in rendered.promised_node_agents()}
    violations = [
        f"{call.source} may not connect to {call.target}:{call.port}"
        for call in promises.calls_in(rendered.overlay)
        if {call.source, call.target} <= deployed
        and not allowed(
            rendered, pod_peer(rendered, call.source), pod_peer(rendered, call.target), call.port
        )
    ]
    violations += [
        f"{name}:{port} is not reachable from outside the namespace"
        for name, port in promises.OPEN_TO_ANYONE.items()
        if name in deployed and not allowed(rendered, OUTSIDER, pod_peer(rendered, name), port)
    ]
    return violations


def log_store_violations(rendered: Rendered) -> list[str]:
    """The log store takes logs from the shippers of its own namespace only: a pod of another
    namespace labelled as a log shipper may not connect to it (anyone may set a label on their
    own pods)."""
    elsewhere = Peer(
        labels=(LOG_SHIPPER_LABEL,),
        in_namespace=False,
        namespace_labels=(("kubernetes.io/metadata.name", "another-namespace"),),
    )
    port = promises.workload(LOG_STORE).port
    if allowed(rendered, elsewhere, pod_peer(rendered, LOG_STORE), port):
        label = "=".join(LOG_SHIPPER_LABEL)
        return [f"a pod labelled {label} in another namespace may connect to {LOG_STORE}:{port}"]
    return []
