"""Services reach pods that exist on ports they expose; every reference resolves."""

from __future__ import annotations

from suites import promises
from suites.static.manifest import (
    Obj,
    Rendered,
    container_port,
    container_refs,
    containers,
    pod_labels,
    pod_spec,
    ref,
    selects,
)


def _selected(rendered: Rendered, service: Obj) -> list[Obj]:
    selector = service["spec"].get("selector") or {}
    return [w for w in rendered.workloads() if selector and selects(selector, pod_labels(w))]


def selector_violations(rendered: Rendered) -> list[str]:
    """Every Service selects pods, and each of its ports lands on a port those pods expose."""
    violations = []
    for service in rendered.of_kind("Service"):
        workloads = _selected(rendered, service)
        if not workloads:
            violations.append(f"{ref(service)} selects no pods")
        for port in service["spec"]["ports"]:
            target = port.get("targetPort", port["port"])
            for workload in workloads:
                if not any(container_port(c, target) for c in containers(workload)):
                    violations.append(
                        f"{ref(service)} port {port['port']} targets {target}, "
                        f"which no container of {ref(workload)} exposes"
                    )
    return violations


def promised_port_violations(rendered: Rendered) -> list[str]:
    """A Service named like each workload, on the drawing's port."""
    violations = []
    for workload in rendered.promised_workloads():
        service = rendered.get("Service", workload.name)
        if service is None:
            violations.append(f"Service/{workload.name} is missing")
            continue
        ports = [p["port"] for p in service["spec"]["ports"]]
        if workload.port not in ports:
            violations.append(
                f"{ref(service)} serves {ports}, the drawing promises {workload.port}"
            )
        if service["spec"].get("type", "ClusterIP") != "ClusterIP":
            violations.append(
                f"{ref(service)} is {service['spec']['type']}, the drawing shows ClusterIP"
            )
    return violations


def _key_exists(rendered: Rendered, kind: str, name: str, key: str) -> bool:
    obj = rendered.get(kind, name)
    return obj is not None and key in {**obj.get("data", {}), **obj.get("stringData", {})}


def reference_violations(rendered: Rendered) -> list[str]:
    """Every ConfigMap, Secret (and key), PVC and governing Service a workload names exists."""
    violations = []
    for _, container, where in container_refs(rendered, init=True):
        for source in container.get("envFrom", []):
            for kind, field in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
                if field in source and rendered.get(kind, source[field]["name"]) is None:
                    violations.append(
                        f"{where} reads {kind}/{source[field]['name']}, which is missing"
                    )
        for variable in container.get("env", []):
            for kind, field in (("ConfigMap", "configMapKeyRef"), ("Secret", "secretKeyRef")):
                selector = variable.get("valueFrom", {}).get(field)
                if selector and not _key_exists(rendered, kind, selector["name"], selector["key"]):
                    violations.append(
                        f"{where} reads {selector['key']} from {kind}/{selector['name']}, "
                        "which is missing"
                    )
    for workload in rendered.pod_workloads():
        for volume in pod_spec(workload).get("volumes", []):
            for kind, field, name_key in (
                ("ConfigMap", "configMap", "name"),
                ("Secret", "secret", "secretName"),
                ("PersistentVolumeClaim", "persistentVolumeClaim", "claimName"),
            ):
                if field in volume and rendered.get(kind, volume[field][name_key]) is None:
                    violations.append(
                        f"{ref(workload)} mounts {kind}/{volume[field][name_key]}, which is missing"
                    )
    for statefulset in rendered.of_kind("StatefulSet"):
        governing = rendered.get("Service", statefulset["spec"]["serviceName"])
        if governing is None or governing["spec"].get("clusterIP") != "None":
            violations.append(
                f"{ref(statefulset)} is governed by {statefulset['spec']['serviceName']}, "
                "which is not a headless Service"
            )
    return violations


def label_violations(rendered: Rendered) -> list[str]:
    """Pods carry app.kubernetes.io/name=<workload> and part-of; selectors use the name alone."""
    violations = []
    for workload in rendered.pod_workloads():
        name = workload["metadata"]["name"]
        labels = pod_labels(workload)
        if labels.get(promises.APP_LABEL) != name:
            violations.append(f"{ref(workload)} pods are not labelled {promises.APP_LABEL}={name}")
        if labels.get(promises.PART_OF_LABEL) != promises.NAMESPACE:
            violations.append(
                f"{ref(workload)} pods are not labelled "
                f"{promises.PART_OF_LABEL}={promises.NAMESPACE}"
            )
        if workload["spec"]["selector"] != {"matchLabels": {promises.APP_LABEL: name}}:
            violations.append(f"{ref(workload)} selects on more or other than {promises.APP_LABEL}")
    return violations
