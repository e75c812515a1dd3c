"""What a drawing counts, checked against an overlay's rendered objects; nothing runs.

Each check is a pure function of the drawing, the overlay's name and its objects, and returns
its violations, one sentence each, naming the object and the drawing's field (with its line):
an empty list means the promise holds. The generic suite (`kubepromises.static_suite`) runs them
on every overlay of a drawing, and on broken copies as negative controls.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from kubepromises.drawing import Drawing, NodePort, Volume

Obj = dict[str, Any]

#: The kinds that run a drawing's workloads, and its node agents'.
WORKLOAD_KINDS = ("Deployment", "StatefulSet")
POD_KINDS = (*WORKLOAD_KINDS, "DaemonSet")


def assert_holds(violations: list[str]) -> None:
    """The check found nothing wrong."""
    assert not violations, "\n".join(violations)


def assert_caught(violations: list[str], fragment: str) -> None:
    """The check flagged the breakage: some violation mentions `fragment`."""
    assert any(fragment in violation for violation in violations), (
        f"the check missed the breakage: no violation mentions {fragment!r}; "
        f"it reported {violations or 'nothing'}"
    )


def ref(obj: Obj) -> str:
    """`Kind/name`, how violations name an object."""
    return f"{obj['kind']}/{obj['metadata']['name']}"


def of_kind(objects: Iterable[Obj], *kinds: str) -> list[Obj]:
    return [obj for obj in objects if obj.get("kind") in kinds]


def find(objects: Iterable[Obj], kind: str, name: str) -> Obj | None:
    """The object of that kind and name, None when there is none."""
    return next((o for o in of_kind(objects, kind) if o["metadata"]["name"] == name), None)


def names(objects: Iterable[Obj], kind: str) -> set[str]:
    return {o["metadata"]["name"] for o in of_kind(objects, kind)}


def autoscalers_of(workload: Obj, objects: Iterable[Obj]) -> list[Obj]:
    """The HorizontalPodAutoscalers whose scaleTargetRef names the workload."""
    return [
        hpa
        for hpa in of_kind(objects, "HorizontalPodAutoscaler")
        if hpa["spec"]["scaleTargetRef"].get("kind") == workload["kind"]
        and hpa["spec"]["scaleTargetRef"].get("name") == workload["metadata"]["name"]
    ]


def replicas(workload: Obj, objects: Iterable[Obj]) -> int:
    """A Deployment's or StatefulSet's pods at rest: the minReplicas of the autoscaler that
    targets it, where one does (it owns the count, and the workload leaves `spec.replicas` out:
    `autoscaled_replica_violations`), else its `spec.replicas` (Kubernetes' default is 1)."""
    autoscalers = autoscalers_of(workload, objects)
    if autoscalers:
        minimum: int = autoscalers[0]["spec"].get("minReplicas", 1)
        return minimum
    count: int = workload["spec"].get("replicas", 1)
    return count


def pod_labels(workload: Obj) -> dict[str, str]:
    labels: dict[str, str] = workload["spec"]["template"]["metadata"].get("labels", {})
    return labels


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    """Whether a Service's selector (non-empty) picks pods with these labels."""
    return bool(selector) and all(labels.get(key) == value for key, value in selector.items())


def _mounts(workload: Obj, volume_name: str) -> bool:
    spec = workload["spec"]["template"]["spec"]
    return any(
        mount["name"] == volume_name
        for container in [*spec.get("containers", []), *spec.get("initContainers", [])]
        for mount in container.get("volumeMounts", [])
    )


def namespace_violations(drawing: Drawing, overlay: str, objects: Sequence[Obj]) -> list[str]:
    """The drawing's namespace is created, and every other object lives in it."""
    namespace = drawing.namespace
    violations = []
    if namespace not in names(objects, "Namespace"):
        violations.append(f"Namespace/{namespace} is not created ({drawing.where('namespace')})")
    for obj in objects:
        if obj["kind"] != "Namespace" and obj["metadata"].get("namespace") != namespace:
            found = obj["metadata"].get("namespace")
            violations.append(
                f"{ref(obj)} is in namespace {found!r}, not {drawing.where('namespace')} "
                f"{namespace!r}"
            )
    return violations


def workload_violations(drawing: Drawing, overlay: str, objects: Sequence[Obj]) -> list[str]:
    """Exactly the drawing's workloads and node agents the overlay deploys, each of its kind."""
    promised: set[tuple[str, str]] = {(w.kind, w.name) for w in drawing.workloads_in(overlay)}
    promised |= {("DaemonSet", a.name) for a in drawing.node_agents_in(overlay)}
    present = {(o["kind"], o["metadata"]["name"]) for o in of_kind(objects, *POD_KINDS)}
    violations = []
    for kind, name in sorted(promised - present):
        other = [k for k, n in present if n == name]
        also = f" (there is a {other[0]} of that name)" if other else ""
        violations.append(f"{kind}/{name} is missing{also}")
    violations += [
        f"{kind}/{name} is not in {drawing.path.name}" for kind, name in sorted(present - promised)
    ]
    return violations


def replica_violations(drawing: Drawing, overlay: str, objects: Sequence[Obj]) -> list[str]:
    """Each workload runs the drawing's replica count."""
    violations = []
    for workload in drawing.workloads_in(overlay):
        obj = find(objects, workload.kind, workload.name)
        where = drawing.where(*drawing.field_of(workload), "replicas")
        if obj is None:
            violations.append(f"{workload.kind}/{workload.name} is missing ({where})")
        elif (count := replicas(obj, objects)) != workload.replicas:
            violations.append(f"{ref(obj)} has {count} replicas; {where} is {workload.replicas}")
    return violations


def autoscaled_replica_violations(
    drawing: Drawing, overlay: str, objects: Sequence[Obj]
) -> list[str]:
    """An autoscaler alone owns the replica count of the workload it targets: one autoscaler at
    most per workload, and the workload's manifest leaves `spec.replicas` out, so applying the
    manifests again never resets a count the autoscaler has raised under load."""
    violations = []
    for obj in of_kind(objects, *WORKLOAD_KINDS):
        autoscalers = autoscalers_of(obj, objects)
        if len(autoscalers) > 1:
            violations.append(
                f"{ref(obj)} is targeted by {len(autoscalers)} autoscalers: "
                f"{', '.join(ref(hpa) for hpa in autoscalers)}"
            )
        if autoscalers and "replicas" in obj["spec"]:
            pinned = obj["spec"]["replicas"]
            violations.append(
                f"{ref(obj)} sets replicas {pinned} while {ref(autoscalers[0])} owns its "
                f"count: applying the manifests again would scale it back to {pinned} under load"
            )
    return violations


def cpu_target(autoscaler: Obj) -> int | None:
    """An autoscaler's CPU target: the averageUtilization (% of the pods' CPU request) of its
    Resource metric on cpu; None when it has none."""
    for metric in autoscaler["spec"].get("metrics") or []:
        resource = metric.get("resource") or {}
        target = resource.get("target") or {}
        if (
            metric.get("type") == "Resource"
            and resource.get("name") == "cpu"
            and target.get("type") == "Utilization"
            and "averageUtilization" in target
        ):
            percent: int = target["averageUtilization"]
            return percent
    return None


def autoscaling_violations(drawing: Drawing, overlay: str, objects: Sequence[Obj]) -> list[str]:
    """Each workload the drawing autoscales where the overlay deploys its autoscaler's piece has
    exactly one autoscaler, from the workload's `replicas` to its `autoscaling.max` on its
    `autoscaling.cpu_percent`, and its manifest leaves `spec.replicas` to it; every other
    workload of the overlay has none."""
    violations = []
    for workload in drawing.workloads_in(overlay):
        obj = find(objects, workload.kind, workload.name)
        if obj is None:
            continue  # the workload check names it
        autoscalers = autoscalers_of(obj, objects)
        scaling = drawing.autoscaled(overlay, workload)
        entry = drawing.field_of(workload)
        if scaling is None:
            if autoscalers:
                violations.append(
                    f"{ref(obj)} is sized by {', '.join(ref(a) for a in autoscalers)}, but "
                    f"{drawing.where(*entry)} has no autoscaling in overlay {overlay!r}"
                )
            continue
        if len(autoscalers) != 1:
            violations.append(
                f"{ref(obj)} has {len(autoscalers)} autoscalers; "
                f"{drawing.where(*entry, 'autoscaling')} draws one"
            )
            continue
        autoscaler, spec = autoscalers[0], autoscalers[0]["spec"]
        minimum, maximum, cpu = (
            spec.get("minReplicas", 1),
            spec.get("maxReplicas"),
            cpu_target(autoscaler),
        )
        if minimum != workload.replicas:
            violations.append(
                f"{ref(autoscaler)} has minReplicas {minimum}; "
                f"{drawing.where(*entry, 'replicas')} is {workload.replicas}"
            )
        if maximum != scaling.max:
            violations.append(
                f"{ref(autoscaler)} has maxReplicas {maximum}; "
                f"{drawing.where(*entry, 'autoscaling', 'max')} is {scaling.max}"
            )
        if cpu != scaling.cpu_percent:
            has = f"a CPU target of {cpu}%" if cpu is not None else "no CPU utilisation target"
            violations.append(
                f"{ref(autoscaler)} has {has}; "
                f"{drawing.where(*entry, 'autoscaling', 'cpu_percent')} is {scaling.cpu_percent}"
            )
        if "replicas" in obj["spec"]:
            violations.append(
                f"{ref(obj)} sets replicas {obj['spec']['replicas']}: "
                f"{ref(autoscaler)} owns its count"
            )
    return violations


def _claim_size(spec: Obj) -> object:
    return spec.get("resources", {}).get("requests", {}).get("storage")


def _volume_violations(
    drawing: Drawing, volume: Volume, index: int, objects: Sequence[Obj]
) -> list[str]:
    size_field = drawing.where("volumes", index, "size")
    kind = drawing.workload(volume.workload).kind
    workload = find(objects, kind, volume.workload)
    if workload is None:
        return [f"{kind}/{volume.workload}, which mounts {volume.drawing_name}, is missing"]
    if volume.template is not None:
        templates = {
            t["metadata"]["name"]: t for t in workload["spec"].get("volumeClaimTemplates", [])
        }
        if volume.template not in templates:
            where = drawing.where("volumes", index, "template")
            return [f"{ref(workload)} has no volumeClaimTemplate {volume.template!r} ({where})"]
        requested = _claim_size(templates[volume.template]["spec"])
        mounted = _mounts(workload, volume.template)
    else:
        claim = find(objects, "PersistentVolumeClaim", volume.pvc_name)
        if claim is None:
            where = drawing.where("volumes", index, "name")
            return [f"PersistentVolumeClaim/{volume.pvc_name} is missing ({where})"]
        requested = _claim_size(claim["spec"])
        spec = workload["spec"]["template"]["spec"]
        mounted = any(
            _mounts(workload, v["name"])
            for v in spec.get("volumes", [])
            if v.get("persistentVolumeClaim", {}).get("claimName") == volume.pvc_name
        )
    violations = []
    if requested != volume.size:
        violations.append(
            f"{volume.drawing_name} ({volume.pvc_name}) requests {requested}; "
            f"{size_field} is {volume.size}"
        )
    if not mounted:
        violations.append(f"{ref(workload)} does not mount {volume.drawing_name}")
    return violations


def volume_violations(drawing: Drawing, overlay: str, objects: Sequence[Obj]) -> list[str]:
    """Each volume of the drawing is claimed at its size and mounted by its workload."""
    deployed = drawing.volumes_in(overlay)
    violations = []
    for index, volume in enumerate(drawing.volumes):
        if volume in deployed:
            violations += _volume_violations(drawing, volume, index, objects)
    return violations


def configuration_violations(drawing: Drawing, overlay: str, objects: Sequence[Obj]) -> list[str]:
    """Exactly the drawing's ConfigMaps (with its node agents') and Secrets, by name."""
    violations = []
    for kind, field, promised in (
        ("ConfigMap", "configmaps", drawing.configmaps_in(overlay)),
        ("Secret", "secrets", drawing.secrets),
    ):
        present = names(objects, kind)
        violations += [
            f"{kind}/{name} is missing ({drawing.where(field)})"
            for name in sorted(set(promised) - present)
        ]
        violations += [
            f"{kind}/{name} is not in {drawing.where(field)}"
            for name in sorted(present - set(promised))
        ]
    return violations


def service_count_violations(drawing: Drawing, overlay: str, objects: Sequence[Obj]) -> list[str]:
    """At least the drawing's number of Services."""
    count = len(of_kind(objects, "Service"))
    if count < drawing.min_services:
        where = drawing.where("summary", "min_services")
        return [f"{count} Services; {where} is {drawing.min_services}"]
    return []


def deploys_every_workload(drawing: Drawing, overlay: str) -> bool:
    """Whether the drawing's total of pods applies to an overlay: it deploys every workload."""
    return drawing.workloads_in(overlay) == drawing.workloads


def pod_count_violations(drawing: Drawing, overlay: str, objects: Sequence[Obj]) -> list[str]:
    """The drawing's total of pods at rest (its workloads', not its node agents'), for an overlay
    that deploys every workload (see `deploys_every_workload`)."""
    low, high = drawing.total_pods
    total = sum(replicas(w, objects) for w in of_kind(objects, *WORKLOAD_KINDS))
    if not low <= total <= high:
        where = drawing.where("summary", "total_pods")
        return [f"{total} pods at rest; {where} is {low}-{high}"]
    return []


def _node_port_violations(
    drawing: Drawing, promised: NodePort, objects: Sequence[Obj]
) -> list[str]:
    group, index = drawing.field_of(drawing.workload(promised.workload))
    where = drawing.where(group, index, "node_port")
    service = find(objects, "Service", promised.service)
    if service is None:
        return [f"Service/{promised.service} (NodePort {promised.node_port}) is missing ({where})"]
    spec = service["spec"]
    violations = []
    if spec.get("type") != "NodePort":
        violations.append(f"{ref(service)} is {spec.get('type', 'ClusterIP')}, not NodePort")
    workload = find(objects, drawing.workload(promised.workload).kind, promised.workload)
    if workload is None or not selects(spec.get("selector") or {}, pod_labels(workload)):
        violations.append(f"{ref(service)} does not select {promised.workload}'s pods")
    if not any(
        p.get("nodePort") == promised.node_port and p.get("port") == promised.port
        for p in spec.get("ports", [])
    ):
        violations.append(
            f"{ref(service)} does not expose port {promised.port} on node port "
            f"{promised.node_port} ({where})"
        )
    return violations


def node_port_violations(drawing: Drawing, overlay: str, objects: Sequence[Obj]) -> list[str]:
    """Each NodePort Service of the drawing selects its workload and exposes its port."""
    violations = []
    for promised in drawing.node_ports_in(overlay):
        violations += _node_port_violations(drawing, promised, objects)
    return violations


def service_violations(drawing: Drawing, overlay: str, objects: Sequence[Obj]) -> list[str]:
    """Each workload runs behind a Service of its name, on the drawing's port, selecting it."""
    violations = []
    for workload in drawing.workloads_in(overlay):
        where = drawing.where(*drawing.field_of(workload), "port")
        service = find(objects, "Service", workload.name)
        if service is None:
            violations.append(f"Service/{workload.name} is missing ({where})")
            continue
        ports = [p.get("port") for p in service["spec"].get("ports", [])]
        if workload.port not in ports:
            violations.append(f"{ref(service)} serves {ports}; {where} is {workload.port}")
        obj = find(objects, workload.kind, workload.name)
        if obj is not None and not selects(service["spec"].get("selector") or {}, pod_labels(obj)):
            violations.append(f"{ref(service)} does not select {ref(obj)}'s pods")
    return violations


def _routes(ingress: Obj) -> list[tuple[object, object, object]]:
    """(host, Service, port number) of each path of an Ingress."""
    return [
        (
            rule.get("host"),
            path.get("backend", {}).get("service", {}).get("name"),
            path.get("backend", {}).get("service", {}).get("port", {}).get("number"),
        )
        for rule in ingress["spec"].get("rules", [])
        for path in rule.get("http", {}).get("paths", [])
    ]


def ingress_violations(drawing: Drawing, overlay: str, objects: Sequence[Obj]) -> list[str]:
    """Where the overlay deploys its piece, an Ingress routes the drawing's host to its
    workload's Service and port."""
    route = drawing.ingress
    if not drawing.deploys(overlay, route.piece):
        return []
    wanted = (route.host, route.service, route.port)
    if any(wanted in _routes(ingress) for ingress in of_kind(objects, "Ingress")):
        return []
    where = drawing.where("ingress")
    return [f"no Ingress routes {route.host} to {route.service}:{route.port} ({where})"]


#: Every check, by the promise it keeps.
CHECKS = {
    "namespace": namespace_violations,
    "workloads": workload_violations,
    "replicas": replica_violations,
    "autoscaled replicas": autoscaled_replica_violations,
    "autoscaling": autoscaling_violations,
    "volumes": volume_violations,
    "configuration": configuration_violations,
    "services": service_violations,
    "service count": service_count_violations,
    "pod count": pod_count_violations,
    "node ports": node_port_violations,
    "ingress": ingress_violations,
}


def container_violations(drawing: Drawing, overlay: str, objects: Sequence[Obj]) -> list[str]:
    """Every container of every workload has the drawing's probes, requests and limits."""
    promised = drawing.containers
    where = drawing.where("containers")
    violations = []
    for workload in drawing.workloads_in(overlay):
        obj = find(objects, workload.kind, workload.name)
        if obj is None:
            continue  # the workload check names it
        for container in obj["spec"]["template"]["spec"].get("containers", []):
            named = f"{ref(obj)}'s container {container['name']}"
            resources = container.get("resources") or {}
            requested, limited = resources.get("requests") or {}, resources.get("limits") or {}
            missing = [f"{p} probe" for p in promised.probes if f"{p}Probe" not in container]
            missing += [f"{r} request" for r in promised.requests if r not in requested]
            missing += [f"{r} limit" for r in promised.limits if r not in limited]
            if missing:
                violations.append(f"{named} has no {', '.join(missing)} ({where})")
    return violations
