"""The suites' one way to talk to the cluster: the official client behind a few typed helpers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from kubernetes import client, config
from kubernetes.utils import parse_quantity


@dataclass(frozen=True)
class WorkloadState:
    """Replica counts of a Deployment or StatefulSet, as the controller reports them."""

    kind: str
    name: str
    desired: int
    ready: int
    updated: int
    generation_observed: bool
    #: Every pod the workload counts, of any revision (`status.replicas`; not those terminating).
    current: int

    @property
    def rolled_out(self) -> bool:
        """The latest template observed, and every pod of it Ready with none of an older one
        left (as `kubectl rollout status`). Ready counts pods of every revision: mid-rollout, one
        old and one new Ready pod with the second new one starting read as 2/2 ready and 2
        updated, and waits that stopped there let an old pod serve the next test."""
        return self.generation_observed and (
            self.desired == self.ready == self.updated == self.current
        )

    def __str__(self) -> str:
        return (
            f"{self.kind}/{self.name} {self.ready}/{self.desired} ready, {self.updated} updated"
            + (f", {self.current} in all" if self.current != self.desired else "")
        )


@dataclass(frozen=True)
class CpuReading:
    """A pod's CPU use as metrics-server read it: cores, over a window of `seconds` that
    `began` then."""

    cores: float
    began: datetime
    seconds: float


class Kube:
    """Typed helpers over the Kubernetes API for one namespace."""

    def __init__(self, kubeconfig: Path, namespace: str) -> None:
        api_client = config.new_client_from_config(config_file=str(kubeconfig))
        self.namespace = namespace
        self.core = client.CoreV1Api(api_client)
        self.apps = client.AppsV1Api(api_client)
        self.autoscaling = client.AutoscalingV2Api(api_client)
        self.custom = client.CustomObjectsApi(api_client)

    def workloads(self) -> list[WorkloadState]:
        """Every Deployment and StatefulSet in the namespace."""
        states = []
        for d in self.apps.list_namespaced_deployment(self.namespace).items:
            states.append(workload_state("Deployment", d))
        for s in self.apps.list_namespaced_stateful_set(self.namespace).items:
            states.append(workload_state("StatefulSet", s))
        return states

    def workload(self, kind: str, name: str) -> WorkloadState:
        if kind == "Deployment":
            return workload_state(kind, self.apps.read_namespaced_deployment(name, self.namespace))
        return workload_state(kind, self.apps.read_namespaced_stateful_set(name, self.namespace))

    def below_autoscaler_minimum(self) -> list[str]:
        """The workloads whose autoscaler has not yet raised them to its minReplicas, each as
        `Kind/name: N replicas, minReplicas M`. The manifests leave the count of an autoscaled
        Deployment to its autoscaler, so a new one starts one pod until the autoscaler's first
        sync; rolled out at one pod, it is not yet at the drawing's count."""
        below = []
        for hpa in self.autoscaling.list_namespaced_horizontal_pod_autoscaler(self.namespace).items:
            target, minimum = hpa.spec.scale_target_ref, hpa.spec.min_replicas or 1
            state = self.workload(target.kind, target.name)
            if state.desired < minimum:
                below.append(
                    f"{target.kind}/{target.name}: {state.desired} replicas, minReplicas {minimum}"
                )
        return below

    def pvc_phases(self) -> dict[str, str]:
        """PVC name → phase (Pending/Bound/Lost)."""
        pvcs = self.core.list_namespaced_persistent_volume_claim(self.namespace).items
        return {p.metadata.name: p.status.phase for p in pvcs}

    def pvc_capacities(self) -> dict[str, str]:
        """PVC name → capacity the volume was bound with (e.g. "5Gi"); "" while unbound."""
        pvcs = self.core.list_namespaced_persistent_volume_claim(self.namespace).items
        return {p.metadata.name: (p.status.capacity or {}).get("storage", "") for p in pvcs}

    def pod_log(self, name: str, since_seconds: int | None = None) -> str:
        log: str = self.core.read_namespaced_pod_log(
            name, self.namespace, since_seconds=since_seconds
        )
        return log

    def nodes_ready(self) -> dict[str, bool]:
        ready = {}
        for node in self.core.list_node().items:
            conditions = {c.type: c.status for c in node.status.conditions or []}
            ready[node.metadata.name] = conditions.get("Ready") == "True"
        return ready

    def pod_memory(self) -> dict[str, int]:
        """Each pod's working set now, in bytes, as metrics-server last read it (pods it has
        not read yet are missing)."""
        metrics = self.custom.list_namespaced_custom_object(
            "metrics.k8s.io", "v1beta1", self.namespace, "pods"
        )
        return {
            item["metadata"]["name"]: sum(
                int(parse_quantity(c["usage"]["memory"])) for c in item["containers"]
            )
            for item in metrics["items"]
        }

    def pod_cpu(self) -> dict[str, CpuReading]:
        """Each pod's CPU use as metrics-server last read it, and the window it was read over
        (pods it has not read yet are missing)."""
        metrics = self.custom.list_namespaced_custom_object(
            "metrics.k8s.io", "v1beta1", self.namespace, "pods"
        )
        readings = {}
        for item in metrics["items"]:
            window = go_duration(item["window"])
            readings[item["metadata"]["name"]] = CpuReading(
                cores=sum(float(parse_quantity(c["usage"]["cpu"])) for c in item["containers"]),
                began=datetime.fromisoformat(item["timestamp"]) - window,
                seconds=window.total_seconds(),
            )
        return readings

    def pods(self, selector: str = "") -> list[client.V1Pod]:
        return list(self.core.list_namespaced_pod(self.namespace, label_selector=selector).items)

    def pod(self, name: str) -> client.V1Pod:
        return self.core.read_namespaced_pod(name, self.namespace)

    def ready_pods(self, selector: str) -> list[client.V1Pod]:
        """Pods matching `selector` that are Ready and not terminating."""
        return [p for p in self.pods(selector) if is_ready(p)]

    def delete_pod(self, name: str, grace_seconds: int | None = None) -> None:
        self.core.delete_namespaced_pod(name, self.namespace, grace_period_seconds=grace_seconds)

    def deployment(self, name: str) -> client.V1Deployment:
        return self.apps.read_namespaced_deployment(name, self.namespace)

    def deployment_template(self, name: str) -> dict[str, Any]:
        """The Deployment's pod template as plain JSON, e.g. to restore it later."""
        template: dict[str, Any] = self.apps.api_client.sanitize_for_serialization(
            self.deployment(name).spec.template
        )
        return template

    def patch_deployment(self, name: str, patch: object) -> None:
        """A strategic-merge patch, or a JSON patch when `patch` is a list of operations."""
        self.apps.patch_namespaced_deployment(name, self.namespace, patch)

    def restore_deployment(self, name: str, template: dict[str, Any], replicas: int) -> None:
        """Put back a template and replica count saved earlier (a JSON patch: no merging)."""
        self.patch_deployment(
            name,
            [
                {"op": "replace", "path": "/spec/template", "value": template},
                {"op": "replace", "path": "/spec/replicas", "value": replicas},
            ],
        )

    def scale(self, kind: str, name: str, replicas: int) -> None:
        body = {"spec": {"replicas": replicas}}
        if kind == "Deployment":
            self.apps.patch_namespaced_deployment_scale(name, self.namespace, body)
        else:
            self.apps.patch_namespaced_stateful_set_scale(name, self.namespace, body)

    def unready_pods(self, everywhere: bool = False) -> list[client.V1Pod]:
        """Pods not Ready (finished ones aside): this namespace's, or every namespace's."""
        pods = self.core.list_pod_for_all_namespaces().items if everywhere else self.pods()
        return [p for p in pods if p.status.phase != "Succeeded" and not is_ready(p)]

    def why_not_ready(self, limit: int = 12) -> str:
        """A few lines a person reads first when workloads do not come up: nodes that are not
        Ready or under pressure, each pod in any namespace that is not Ready (its node, phase,
        containers' waiting or last-terminated reasons), and the latest warning events."""
        lines = []
        for node in self.core.list_node().items:
            troubles = [
                f"{c.type}={c.status} ({c.reason}: {c.message})"
                for c in node.status.conditions or []
                if (c.type == "Ready") != (c.status == "True")
            ]
            if troubles:
                lines.append(f"node {node.metadata.name}: {'; '.join(troubles)}")
        for pod in self.unready_pods(everywhere=True):
            lines.append(
                f"pod {pod.metadata.namespace}/{pod.metadata.name} on "
                f"{pod.spec.node_name or '(unscheduled)'}: {pod.status.phase}; "
                + "; ".join(_container_troubles(pod))
            )
        events = self.core.list_event_for_all_namespaces(field_selector="type=Warning")
        latest = sorted(
            events.items, key=lambda e: str(e.last_timestamp or e.event_time or ""), reverse=True
        )
        for event in latest[:limit]:
            lines.append(
                f"event {event.involved_object.kind}/{event.involved_object.name}: "
                f"{event.reason} x{event.count or 1}: {(event.message or '').strip()[:300]}"
            )
        return "\n".join(lines) or "every node Ready, every pod Ready, no warning events"

    def endpoint_addresses(self, service: str) -> list[str]:
        """Ready pod IPs behind a Service."""
        endpoints = self.core.read_namespaced_endpoints(service, self.namespace)
        return [a.ip for subset in endpoints.subsets or [] for a in subset.addresses or []]


def is_ready(pod: client.V1Pod) -> bool:
    """Ready condition true and not being deleted."""
    if pod.metadata.deletion_timestamp is not None:
        return False
    conditions = {c.type: c.status for c in (pod.status.conditions or [])}
    return conditions.get("Ready") == "True"


def _container_troubles(pod: client.V1Pod) -> list[str]:
    troubles = []
    statuses = (pod.status.init_container_statuses or []) + (pod.status.container_statuses or [])
    for status in statuses:
        if status.ready:
            continue
        waiting = status.state.waiting if status.state else None
        ended = status.last_state.terminated if status.last_state else None
        said = f"{status.name}: not ready, restarts {status.restart_count}"
        if waiting:
            said += f", waiting {waiting.reason}: {(waiting.message or '')[:200]}"
        if ended:
            said += f", last ended {ended.reason} (exit {ended.exit_code})"
        troubles.append(said)
    for condition in pod.status.conditions or []:
        if condition.status != "True" and condition.message:
            troubles.append(f"{condition.type}: {condition.message[:200]}")
    return troubles or ["no container status yet"]


def workload_state(kind: str, obj: client.V1Deployment | client.V1StatefulSet) -> WorkloadState:
    """The replica counts of a Deployment or StatefulSet as read from the API."""
    status = obj.status
    return WorkloadState(
        kind=kind,
        name=obj.metadata.name,
        desired=obj.spec.replicas if obj.spec.replicas is not None else 1,
        ready=status.ready_replicas or 0,
        updated=status.updated_replicas or 0,
        generation_observed=(status.observed_generation or 0) >= (obj.metadata.generation or 0),
        current=status.replicas or 0,
    )


class AutoscalersSuspended:
    """Removes the namespace's HorizontalPodAutoscalers and puts them back afterwards.

    Tests that count replicas or scale by hand would otherwise race the autoscaler, which on a
    2-core machine scales out under their own traffic.
    """

    def __init__(self, kube: Kube) -> None:
        self.kube = kube
        self.saved: list[dict[str, Any]] = []

    def __enter__(self) -> AutoscalersSuspended:
        api = self.kube.autoscaling
        for hpa in api.list_namespaced_horizontal_pod_autoscaler(self.kube.namespace).items:
            body = api.api_client.sanitize_for_serialization(hpa)
            body.pop("status", None)
            body["metadata"] = {
                k: v for k, v in body["metadata"].items() if k in ("name", "labels", "annotations")
            }
            self.saved.append(body)
            api.delete_namespaced_horizontal_pod_autoscaler(hpa.metadata.name, self.kube.namespace)
            # Back to the floor the autoscaler keeps (the promised replicas), should it have
            # scaled out already.
            self.kube.apps.patch_namespaced_deployment_scale(
                hpa.spec.scale_target_ref.name,
                self.kube.namespace,
                {"spec": {"replicas": hpa.spec.min_replicas}},
            )
        return self

    def __exit__(self, *_: object) -> None:
        for body in self.saved:
            self.kube.autoscaling.create_namespaced_horizontal_pod_autoscaler(
                self.kube.namespace, body
            )


#: Go's duration units (time.ParseDuration), in seconds.
GO_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
GO_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|μs|ms|s|m|h)")


def go_duration(text: str) -> timedelta:
    """A Go duration as the metrics API writes a window ("15.2s", "418ms", "1m0.5s")."""
    parts = GO_PART.findall(text)
    if text == "0":
        return timedelta(0)
    if not parts or "".join(number + unit for number, unit in parts) != text:
        raise ValueError(f"not a Go duration: {text!r}")
    return timedelta(seconds=sum(float(number) * GO_UNITS[unit] for number, unit in parts))
