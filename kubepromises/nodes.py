"""A worker node lost through the Kubernetes API, for clusters whose nodes this machine cannot
reach (no `docker pause`, no power switch): the node is cordoned and marked with the package's
own taint (MARK, NoSchedule), then the drawing's pods on it are evicted through the Eviction
API, as a node drain does; afterwards the mark and the cordon are taken away again.

Why eviction and not a NoExecute taint, which is what a real node failure looks like: a taint
acts on every pod of the node, whatever its namespace, so on a shared cluster it would evict
other teams' pods (and the cluster's own add-ons) too. Eviction touches only the drawing's
namespace and respects its PodDisruptionBudgets. What it does not do, the verdict says: the
pods it leaves running on the node (a single replica, whose Service would have nothing to
answer with; a pod whose volume may be bound to that node) are "not asked".

The choice of node, and the checks before and after, are pure functions of the observed state
(`kubepromises.live.observe`), so they are tested without a cluster.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Final

from kubepromises.drawing import Drawing, Workload
from kubepromises.live import (
    Observed,
    is_ready,
    node_addresses,
    pods_of,
    ready_pods,
    schedulable_nodes,
)
from kubepromises.static import Obj, find, ref
from kubepromises.traffic import Route

#: The package's own taint on the lost node: it says who cordoned it and why.
MARK: Final = "kubepromises.io/node-lost"
#: Labels a control-plane node carries: it is never the one lost.
CONTROL_PLANE_LABELS: Final = (
    "node-role.kubernetes.io/control-plane",
    "node-role.kubernetes.io/master",
)
#: The drawing's SLO that bounds an evicted replica's time to Ready on another node.
NODE_LOSS_SLO: Final = "node-loss"
#: Without such an SLO, how long the evicted replicas may take.
NODE_LOSS_WITHOUT_SLO_SECONDS: Final = 120.0


class NodeLossError(ValueError):
    """The drawing's node-loss SLO is not one this check can keep (not in seconds, zero)."""


def bound_seconds(drawing: Drawing) -> float:
    """The drawing's `node-loss` SLO in seconds, NODE_LOSS_WITHOUT_SLO_SECONDS without one;
    NodeLossError naming its line when it is not a positive number of seconds."""
    slo = next((s for s in drawing.slos if s.name == NODE_LOSS_SLO), None)
    if slo is None:
        return NODE_LOSS_WITHOUT_SLO_SECONDS
    where = drawing.where("slos", NODE_LOSS_SLO)
    if slo.unit != "s":
        raise NodeLossError(f"{where}: the node-loss SLO is in seconds (unit: s), not {slo.unit!r}")
    if slo.at_most <= 0:
        raise NodeLossError(f"{where}: the node-loss SLO must allow more than 0 s")
    return slo.at_most


def is_control_plane(node: Obj) -> bool:
    labels = node["metadata"].get("labels") or {}
    return any(label in labels for label in CONTROL_PLANE_LABELS)


def claims_of(pod: Obj) -> list[str]:
    """The PersistentVolumeClaims the pod mounts: a volume that may be bound to its node."""
    volumes = pod.get("spec", {}).get("volumes") or []
    return [
        v["persistentVolumeClaim"]["claimName"] for v in volumes if v.get("persistentVolumeClaim")
    ]


def replicated(drawing: Drawing, overlay: str, observed: Observed) -> list[tuple[Workload, Obj]]:
    """The overlay's workloads of several replicas that run: the ones a node loss must not
    silence."""
    found = []
    for workload in drawing.workloads_in(overlay):
        obj = find(observed.workloads, workload.kind, workload.name)
        if obj is not None and workload.replicas >= 2:
            found.append((workload, obj))
    return found


@dataclass(frozen=True)
class Loss:
    """The node to lose, the drawing's pods evicted from it, and those left on it (why, one
    sentence each: not asked)."""

    node: str
    evicted: tuple[str, ...]
    left: tuple[str, ...]

    def __str__(self) -> str:
        left = f"; not asked: {'; '.join(self.left)}" if self.left else ""
        return f"node {self.node}: evicting {', '.join(self.evicted)}{left}"


def plan_loss(drawing: Drawing, overlay: str, observed: Observed, node: str) -> Loss:
    """What losing `node` evicts: the Ready pods of the several-replica workloads there that
    mount no claim. Every other pod of the drawing's workloads there is left, saying why."""
    evicted, left = [], []
    several = {ref(obj) for _, obj in replicated(drawing, overlay, observed)}
    for workload in drawing.workloads_in(overlay):
        obj = find(observed.workloads, workload.kind, workload.name)
        if obj is None:
            continue
        for pod in pods_of(observed, obj):
            if pod.get("spec", {}).get("nodeName") != node:
                continue
            name, claims = pod["metadata"]["name"], claims_of(pod)
            if claims:
                left.append(f"{name} (its volume {', '.join(claims)} may be bound to the node)")
            elif ref(obj) not in several:
                left.append(f"{name} (the only replica of {ref(obj)})")
            elif is_ready(pod):
                evicted.append(name)
    return Loss(node, tuple(evicted), tuple(left))


def choose_node(drawing: Drawing, overlay: str, observed: Observed) -> Loss | str:
    """The worker to lose: Ready, schedulable (untainted, not cordoned), not a control plane,
    running a Ready replica of a several-replica workload; of those, the one that leaves the
    fewest pods not asked (fewest stranded volumes first), then the one that evicts the most.
    Why none, when none is."""
    candidates = []
    schedulable = set(schedulable_nodes(observed))
    for node in observed.nodes:
        name = node["metadata"]["name"]
        if is_control_plane(node) or name not in schedulable:
            continue
        loss = plan_loss(drawing, overlay, observed, name)
        if loss.evicted:
            stranded = sum("volume" in why for why in loss.left)
            candidates.append(((stranded, len(loss.left), -len(loss.evicted), name), loss))
    if not candidates:
        workers = [n["metadata"]["name"] for n in observed.nodes if not is_control_plane(n)]
        return (
            "no schedulable worker runs a Ready replica of a workload of several replicas "
            f"(workers: {', '.join(workers) or 'none'})"
        )
    return min(candidates, key=lambda pair: pair[0])[1]


def survivor_violations(drawing: Drawing, overlay: str, observed: Observed, node: str) -> list[str]:
    """Before the loss: each several-replica workload has a Ready replica on another node than
    `node`, so its Service has someone to answer while the node is gone."""
    violations = []
    for workload, obj in replicated(drawing, overlay, observed):
        elsewhere = [p for p in ready_pods(observed, obj) if p["spec"].get("nodeName") != node]
        if not elsewhere:
            where = drawing.where(*drawing.field_of(workload), "replicas")
            violations.append(
                f"{ref(obj)} has no Ready replica off node {node} ({where} is "
                f"{workload.replicas}): losing the node silences it"
            )
    return violations


def moved_violations(drawing: Drawing, overlay: str, observed: Observed, node: str) -> list[str]:
    """After the loss: each several-replica workload has the drawing's replica count Ready on
    nodes other than `node`."""
    violations = []
    for workload, obj in replicated(drawing, overlay, observed):
        away = [p for p in ready_pods(observed, obj) if p["spec"].get("nodeName") != node]
        if len(away) < workload.replicas:
            where = drawing.where(*drawing.field_of(workload), "replicas")
            violations.append(
                f"{ref(obj)} has {len(away)} replicas Ready off node {node}; {where} is "
                f"{workload.replicas}"
            )
    return violations


# -- the API calls -------------------------------------------------------------------------------


def _core(api: Any) -> Any:
    from kubernetes import client

    return client.CoreV1Api(api)


def lose(api: Any, node: str) -> None:
    """Cordon the node and put MARK on it (NoSchedule), keeping its other taints."""
    core = _core(api)
    taints = [t for t in core.read_node(node).spec.taints or [] if t.key != MARK]
    taints.append({"key": MARK, "value": "true", "effect": "NoSchedule"})
    core.patch_node(node, {"spec": {"unschedulable": True, "taints": taints}})


def restore(api: Any, node: str) -> None:
    """Take MARK off the node and uncordon it, keeping its other taints."""
    core = _core(api)
    taints = [t for t in core.read_node(node).spec.taints or [] if t.key != MARK]
    core.patch_node(node, {"spec": {"unschedulable": None, "taints": taints or None}})


def node_state(api: Any, node: str) -> tuple[bool, list[str]]:
    """(cordoned, the keys of its taints): what `restore` must have taken back."""
    spec = _core(api).read_node(node).spec
    return bool(spec.unschedulable), [t.key for t in spec.taints or []]


def evict(api: Any, namespace: str, pods: Sequence[str]) -> list[str]:
    """Ask the Eviction API to evict each pod; the ones a PodDisruptionBudget refused now
    (429), to ask again. A pod already gone counts as evicted."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    core, refused = _core(api), []
    for pod in pods:
        body = client.V1Eviction(metadata=client.V1ObjectMeta(name=pod, namespace=namespace))
        try:
            core.create_namespaced_pod_eviction(pod, namespace, body)
        except ApiException as error:
            if error.status == 429:
                refused.append(pod)
            elif error.status != 404:
                raise
    return refused


def route_off(route: Route, observed: Observed, node: str) -> Route | str:
    """The route with its traffic sent from off the lost node: from another Ready pod of the
    same workload when its pod runs there, to another node's address when it goes to a node
    port there. Why not, when every such pod or address is on that node."""
    if route.pod is None:
        lost = {
            address["address"]
            for n in observed.nodes
            if n["metadata"]["name"] == node
            for address in n.get("status", {}).get("addresses") or []
        }
        others = [a for a in node_addresses(observed) if a not in lost]
        if not others:
            return f"no node but {node} to send {route} to"
        return route if route.host in others else replace(route, host=others[0])
    pods = {p["metadata"]["name"]: p for p in observed.pods}
    if route.pod not in pods or pods[route.pod]["spec"].get("nodeName") != node:
        return route
    for obj in observed.workloads:
        if route.pod in {p["metadata"]["name"] for p in pods_of(observed, obj)}:
            off = [p for p in ready_pods(observed, obj) if p["spec"].get("nodeName") != node]
            if off:
                return replace(route, pod=off[0]["metadata"]["name"])
    return f"every Ready pod to send {route} from runs on {node}"
