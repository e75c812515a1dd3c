"""What the drawing counts: namespace, workloads, ConfigMaps, Secrets, Services, PVCs, pods."""

from __future__ import annotations

from suites import promises
from suites.static.manifest import Rendered, ref, replicas


def namespace_violations(rendered: Rendered) -> list[str]:
    violations = []
    if promises.NAMESPACE not in rendered.names("Namespace"):
        violations.append(f"Namespace/{promises.NAMESPACE} is not created")
    for obj in rendered.objects:
        if obj["kind"] == "Namespace":
            continue
        namespace = obj["metadata"].get("namespace")
        if namespace != promises.NAMESPACE:
            violations.append(f"{ref(obj)} is in namespace {namespace!r}, not {promises.NAMESPACE}")
    return violations


def workload_violations(rendered: Rendered) -> list[str]:
    """Exactly the promised Deployments, StatefulSets and DaemonSets, each of the promised kind."""
    promised: set[tuple[str, str]] = {(w.kind, w.name) for w in rendered.promised_workloads()}
    promised |= {("DaemonSet", a.name) for a in rendered.promised_node_agents()}
    present = {(o["kind"], o["metadata"]["name"]) for o in rendered.pod_workloads()}
    return [f"{kind}/{name} is missing" for kind, name in sorted(promised - present)] + [
        f"{kind}/{name} is not in the drawing" for kind, name in sorted(present - promised)
    ]


def configuration_violations(rendered: Rendered) -> list[str]:
    """Exactly the drawing's ConfigMaps and Secrets, by name (plus node agents' config)."""
    violations = []
    configmaps = promises.configmaps_in(rendered.overlay)
    for kind, promised in (("ConfigMap", configmaps), ("Secret", promises.SECRETS)):
        present = rendered.names(kind)
        violations += [f"{kind}/{name} is missing" for name in sorted(set(promised) - present)]
        violations += [
            f"{kind}/{name} is not in the drawing" for name in sorted(present - set(promised))
        ]
    return violations


def service_count_violations(rendered: Rendered) -> list[str]:
    count = len(rendered.of_kind("Service"))
    if count < promises.MIN_SERVICE_COUNT:
        return [f"{count} Services, the drawing promises {promises.MIN_SERVICE_COUNT}+"]
    return []


def pod_count_violations(rendered: Rendered) -> list[str]:
    """The drawing's ~15-20 pods; only meaningful where every piece is deployed."""
    low, high = promises.TOTAL_PODS_RANGE
    total = sum(replicas(w, rendered) for w in rendered.workloads())
    if not low <= total <= high:
        return [f"{total} pods at rest, the drawing promises {low}-{high}"]
    return []
