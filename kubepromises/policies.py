"""What an overlay's NetworkPolicies let through between the drawing's workloads, read statically.

`allows(objects, namespace, source, target, port)` answers for one path, from pod labels to pod
labels in the drawing's namespace, by the rules of the NetworkPolicy API: a pod no policy of a
direction selects is open in that direction; a pod some policy selects takes what one of their
rules admits, and a connection needs both the source's egress and the target's ingress. Where
a rule cannot be judged from the manifests alone, it is read as admitting (an `ipBlock`, a
namespace selector other than the namespace's own name), so a path this reads as closed is
closed whatever the cluster's addresses and namespace labels: the isolation check errs towards
a violation, never towards a pass.

The checks (`kubepromises.static`'s style: pure, a list of violations) are `call_violations`
(every call of the drawing between its workloads is let through) and `isolation_violations`
(each data store lets through its callers only).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kubepromises.drawing import Drawing, Workload
from kubepromises.static import Obj, find, of_kind, pod_labels

#: The label every namespace carries with its own name (Kubernetes sets it).
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"


def matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """A label selector (matchLabels and matchExpressions; empty selects all) on these labels."""
    if selector is None:
        return True
    wanted = selector.get("matchLabels") or {}
    if any(labels.get(key) != value for key, value in wanted.items()):
        return False
    for expression in selector.get("matchExpressions") or []:
        key, operator = expression["key"], expression["operator"]
        values = expression.get("values") or []
        present = key in labels
        held = {
            "In": present and labels.get(key) in values,
            "NotIn": not present or labels.get(key) not in values,
            "Exists": present,
            "DoesNotExist": not present,
        }.get(operator, False)
        if not held:
            return False
    return True


def _types(policy: Obj) -> list[str]:
    """The directions a policy governs (without policyTypes: Ingress, and Egress with rules)."""
    spec = policy["spec"]
    given: list[str] | None = spec.get("policyTypes")
    if given is not None:
        return given
    return ["Ingress", *(["Egress"] if spec.get("egress") else [])]


def _peer_admits(peer: Obj, namespace: str, labels: Mapping[str, str]) -> bool:
    """One `from`/`to` entry, for a pod of the namespace with these labels."""
    if "ipBlock" in peer:
        return True  # pod addresses are the cluster's: read as admitting
    if "namespaceSelector" in peer:
        own = {NAMESPACE_NAME_LABEL: namespace}
        selector = peer["namespaceSelector"] or {}
        if selector and not matches(selector, own):
            # other namespaces by their labels: this one only if its name says so
            return not (selector.get("matchLabels") or {}).keys() <= {NAMESPACE_NAME_LABEL}
    return matches(peer.get("podSelector"), labels)


def _port_admits(rule: Obj, port: int, named: Mapping[str, int]) -> bool:
    ports = rule.get("ports") or []
    if not ports:
        return True
    for entry in ports:
        if entry.get("protocol", "TCP") != "TCP":
            continue
        given = entry.get("port")
        if given is None:
            return True
        number = named.get(given) if isinstance(given, str) else given
        if number is not None and number <= port <= entry.get("endPort", number):
            return True
    return False


def _admitted(
    policies: Sequence[Obj],
    direction: str,
    namespace: str,
    selected: Mapping[str, str],
    peer: Mapping[str, str],
    port: int,
    named: Mapping[str, int],
) -> bool:
    """Whether the pod with `selected` labels lets the `peer` through in this direction."""
    governing = [
        p
        for p in policies
        if direction in _types(p) and matches(p["spec"].get("podSelector") or {}, selected)
    ]
    if not governing:
        return True
    field, peers_field = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    for policy in governing:
        for rule in policy["spec"].get(field) or []:
            peers = rule.get(peers_field) or []
            by_peer = not peers or any(_peer_admits(p, namespace, peer) for p in peers)
            if by_peer and _port_admits(rule, port, named):
                return True
    return False


def named_ports(workload: Obj) -> dict[str, int]:
    """The container ports a workload's pods name."""
    spec = workload["spec"]["template"]["spec"]
    return {
        port["name"]: port["containerPort"]
        for container in spec.get("containers", [])
        for port in container.get("ports", [])
        if "name" in port
    }


def allows(objects: Sequence[Obj], source: Obj, target: Obj, port: int) -> bool:
    """Whether the overlay's NetworkPolicies let a pod of `source` connect to a pod of `target`
    on `port` (both workloads of the objects' namespace)."""
    namespace = target["metadata"].get("namespace", "")
    policies = [
        p
        for p in of_kind(objects, "NetworkPolicy")
        if p["metadata"].get("namespace", namespace) == namespace
    ]
    source_labels, target_labels = pod_labels(source), pod_labels(target)
    named = named_ports(target)
    egress = _admitted(policies, "Egress", namespace, source_labels, target_labels, port, named)
    ingress = _admitted(policies, "Ingress", namespace, target_labels, source_labels, port, named)
    return egress and ingress


def _workload(objects: Sequence[Obj], workload: Workload) -> Obj | None:
    return find(objects, workload.kind, workload.name)


def call_violations(drawing: Drawing, overlay: str, objects: Sequence[Obj]) -> list[str]:
    """Every call of the drawing between the overlay's workloads is let through."""
    violations = []
    for call in drawing.calls_in(overlay):
        caller, target = drawing.workload(call.source), drawing.workload(call.target)
        source, destination = _workload(objects, caller), _workload(objects, target)
        if source is None or destination is None:
            continue  # a missing workload is the workload check's to name
        if not allows(objects, source, destination, target.port):
            violations.append(
                f"the NetworkPolicies stop {caller.name} → {target.name}:{target.port} "
                f"({drawing.where('calls', drawing.calls.index(call))})"
            )
    return violations


def isolation_violations(drawing: Drawing, overlay: str, objects: Sequence[Obj]) -> list[str]:
    """Each data store lets through its callers only: no other workload of the overlay gets a
    connection to its port past the NetworkPolicies."""
    allowed = {(c.source, c.target) for c in drawing.calls_in(overlay)}
    deployed = drawing.workloads_in(overlay)
    violations = []
    for store in (w for w in deployed if w.data_store):
        destination = _workload(objects, store)
        if destination is None:
            continue
        for other in deployed:
            source = _workload(objects, other)
            if other is store or source is None or (other.name, store.name) in allowed:
                continue
            if allows(objects, source, destination, store.port):
                where = drawing.where(*drawing.field_of(store), "data_store")
                violations.append(
                    f"the NetworkPolicies let {other.name} reach {store.name}:{store.port}, "
                    f"a data store ({where}) it has no call to"
                )
    return violations
