"""The rendered objects of one overlay, and small accessors the checks share."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from kubepromises.static import replicas as workload_replicas
from suites import promises

Obj = dict[str, Any]

WORKLOAD_KINDS = ("Deployment", "StatefulSet")
#: Workloads plus node agents (DaemonSets): every kind whose pods the per-pod checks cover.
POD_KINDS = (*WORKLOAD_KINDS, "DaemonSet")


@dataclass
class Rendered:
    """What one overlay renders to."""

    overlay: str
    objects: list[Obj]

    def copy(self) -> Rendered:
        """A deep copy to break in a negative control."""
        return Rendered(self.overlay, copy.deepcopy(self.objects))

    def of_kind(self, *kinds: str) -> list[Obj]:
        return [obj for obj in self.objects if obj["kind"] in kinds]

    def get(self, kind: str, name: str) -> Obj | None:
        return next(
            (o for o in self.objects if o["kind"] == kind and o["metadata"]["name"] == name),
            None,
        )

    def one(self, kind: str, name: str) -> Obj:
        """The object, or KeyError naming what is missing."""
        found = self.get(kind, name)
        if found is None:
            raise KeyError(f"{kind}/{name} is not in the rendered {self.overlay} overlay")
        return found

    def remove(self, kind: str, name: str) -> None:
        self.objects.remove(self.one(kind, name))

    def workloads(self) -> list[Obj]:
        """The drawing's boxes that run pods: Deployments and StatefulSets."""
        return self.of_kind(*WORKLOAD_KINDS)

    def pod_workloads(self) -> list[Obj]:
        """Everything that runs pods: the workloads and the node agents (DaemonSets)."""
        return self.of_kind(*POD_KINDS)

    def workload(self, name: str) -> Obj:
        """A Deployment, StatefulSet or DaemonSet by name."""
        for kind in POD_KINDS:
            if (found := self.get(kind, name)) is not None:
                return found
        raise KeyError(f"no workload {name} in the rendered {self.overlay} overlay")

    def names(self, kind: str) -> set[str]:
        return {o["metadata"]["name"] for o in self.of_kind(kind)}

    def promised_workloads(self) -> tuple[promises.Workload, ...]:
        return promises.workloads_in(self.overlay)

    def promised_node_agents(self) -> tuple[promises.NodeAgent, ...]:
        return promises.node_agents_in(self.overlay)

    def deploys(self, piece: str) -> bool:
        return promises.deployed(piece, self.overlay)


def ref(obj: Obj) -> str:
    """`Kind/name`, how violations name an object."""
    return f"{obj['kind']}/{obj['metadata']['name']}"


def pod_template(workload: Obj) -> Obj:
    template: Obj = workload["spec"]["template"]
    return template


def pod_spec(workload: Obj) -> Obj:
    spec: Obj = workload["spec"]["template"]["spec"]
    return spec


def containers(workload: Obj, *, init: bool = False) -> list[Obj]:
    """The main containers, plus the init containers when `init` is set."""
    spec = pod_spec(workload)
    found: list[Obj] = list(spec.get("containers", []))
    if init:
        found += spec.get("initContainers", [])
    return found


def main_container(workload: Obj) -> Obj:
    """The container named like its workload, else the first one."""
    name = workload["metadata"]["name"]
    listed = containers(workload)
    return next((c for c in listed if c["name"] == name), listed[0])


def container_refs(rendered: Rendered, *, init: bool = False) -> Iterator[tuple[Obj, Obj, str]]:
    """(workload, container, "Kind/name container c") for every container of every pod."""
    for workload in rendered.pod_workloads():
        for container in containers(workload, init=init):
            yield workload, container, f"{ref(workload)} container {container['name']}"


def replicas(workload: Obj, rendered: Rendered) -> int:
    """Pods at rest: a DaemonSet runs one on each node that runs our pods; a Deployment or
    StatefulSet its autoscaler's minimum, else its `replicas` (kubepromises.static.replicas)."""
    if workload["kind"] == "DaemonSet":
        return promises.WORKER_NODES
    return workload_replicas(workload, rendered.objects)


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    """Whether matchLabels-style `selector` selects `labels` (an empty selector selects all)."""
    return all(labels.get(key) == value for key, value in selector.items())


def label_selector_matches(selector: Obj | None, labels: dict[str, str]) -> bool:
    """A metav1.LabelSelector (matchLabels and matchExpressions) against labels."""
    if selector is None:
        return False
    if not selects(selector.get("matchLabels", {}), labels):
        return False
    for expression in selector.get("matchExpressions", []):
        key, operator, values = expression["key"], expression["operator"], expression.get("values")
        present = key in labels
        if operator == "In" and not (present and labels[key] in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


def pod_labels(workload: Obj) -> dict[str, str]:
    labels: dict[str, str] = pod_template(workload)["metadata"].get("labels", {})
    return labels


def pod_annotations(workload: Obj) -> dict[str, str]:
    annotations: dict[str, str] = pod_template(workload)["metadata"].get("annotations", {})
    return annotations


def container_port(container: Obj, port: int | str) -> int | None:
    """The container's port number for a number or a port name, None if it exposes no such port."""
    for declared in container.get("ports", []):
        if port in (declared["containerPort"], declared.get("name")):
            number: int = declared["containerPort"]
            return number
    return None


_BINARY: dict[str, float] = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}
_DECIMAL: dict[str, float] = {"m": 0.001, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}


def quantity(value: str | int | float) -> float:
    """A Kubernetes quantity as a number (cores or bytes)."""
    text = str(value)
    for suffix, factor in _BINARY.items():
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * factor
    for suffix, factor in _DECIMAL.items():
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * factor
    return float(text)
