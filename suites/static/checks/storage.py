"""The drawing's PVCs: names, sizes, and that the workload mounts them."""

from __future__ import annotations

from suites import promises
from suites.static.manifest import Obj, Rendered, containers, pod_spec, replicas


def _mounted(workload: Obj, volume_name: str) -> bool:
    return any(
        mount["name"] == volume_name
        for container in containers(workload)
        for mount in container.get("volumeMounts", [])
    )


def _claim_violations(what: str, claim_spec: Obj, size: str) -> list[str]:
    violations = []
    requested = claim_spec.get("resources", {}).get("requests", {}).get("storage")
    if requested != size:
        violations.append(f"{what} requests {requested}, the drawing promises {size}")
    if "ReadWriteOnce" not in claim_spec.get("accessModes", []):
        violations.append(f"{what} is not ReadWriteOnce")
    return violations


def _template_violations(workload: Obj, volume: promises.Volume) -> list[str]:
    what = f"{volume.drawing_name} ({volume.pvc_name})"
    templates = {t["metadata"]["name"]: t for t in workload["spec"].get("volumeClaimTemplates", [])}
    if volume.template is None or volume.template not in templates:
        return [
            f"StatefulSet/{volume.workload} has no volumeClaimTemplate {volume.template} for {what}"
        ]
    violations = _claim_violations(what, templates[volume.template]["spec"], volume.size)
    if not _mounted(workload, volume.template):
        violations.append(f"StatefulSet/{volume.workload} does not mount {what}")
    return violations


def _claim_object_violations(
    rendered: Rendered, workload: Obj, volume: promises.Volume
) -> list[str]:
    claim = rendered.get("PersistentVolumeClaim", volume.pvc_name)
    if claim is None:
        return [f"PersistentVolumeClaim/{volume.pvc_name} is missing"]
    violations = _claim_violations(volume.pvc_name, claim["spec"], volume.size)
    using = [
        v["name"]
        for v in pod_spec(workload).get("volumes", [])
        if v.get("persistentVolumeClaim", {}).get("claimName") == volume.pvc_name
    ]
    if not any(_mounted(workload, name) for name in using):
        violations.append(f"{workload['kind']}/{volume.workload} does not mount {volume.pvc_name}")
    return violations


def storage_violations(rendered: Rendered) -> list[str]:
    violations = []
    for volume in promises.volumes_in(rendered.overlay):
        try:
            workload = rendered.workload(volume.workload)
        except KeyError as missing:
            violations.append(str(missing))
            continue
        if volume.template is not None:
            violations += _template_violations(workload, volume)
        else:
            violations += _claim_object_violations(rendered, workload, volume)
    return violations


def pvc_count(rendered: Rendered) -> int:
    """PVCs the overlay creates at its promised replica counts."""
    from_templates = sum(
        len(s["spec"].get("volumeClaimTemplates", [])) * replicas(s, rendered)
        for s in rendered.of_kind("StatefulSet")
    )
    return from_templates + len(rendered.of_kind("PersistentVolumeClaim"))
