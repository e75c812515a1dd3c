"""Least privilege on every pod, with each exception annotated with its reason."""

from __future__ import annotations

from suites import promises
from suites.static.manifest import Obj, Rendered, container_refs, pod_annotations, pod_spec, ref


def _excused(workload: Obj, annotation: str) -> bool:
    return bool(pod_annotations(workload).get(annotation, "").strip())


def _pod_violations(workload: Obj) -> list[str]:
    spec = pod_spec(workload)
    context = spec.get("securityContext", {})
    violations = []
    if not _excused(workload, promises.RUNS_AS_ROOT_ANNOTATION) and not (
        context.get("runAsNonRoot") is True and context.get("runAsUser", 0) != 0
    ):
        violations.append(f"{ref(workload)} pods may run as root")
    if context.get("seccompProfile", {}).get("type") != "RuntimeDefault":
        violations.append(f"{ref(workload)} pods have no RuntimeDefault seccomp profile")
    if spec.get("automountServiceAccountToken") is not False:
        violations.append(f"{ref(workload)} pods mount a service account token they do not use")
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(field):
            violations.append(f"{ref(workload)} pods use {field}")
    if any("hostPath" in volume for volume in spec.get("volumes", [])) and not _excused(
        workload, promises.HOST_PATH_ANNOTATION
    ):
        violations.append(f"{ref(workload)} pods mount a hostPath")
    return violations


def security_violations(rendered: Rendered) -> list[str]:
    violations = []
    for workload in rendered.pod_workloads():
        violations += _pod_violations(workload)
    for workload, container, where in container_refs(rendered, init=True):
        context = container.get("securityContext", {})
        if context.get("allowPrivilegeEscalation") is not False:
            violations.append(f"{where} allows privilege escalation")
        if context.get("privileged"):
            violations.append(f"{where} is privileged")
        if "ALL" not in context.get("capabilities", {}).get("drop", []):
            violations.append(f"{where} does not drop all capabilities")
        if context.get("readOnlyRootFilesystem") is not True and not _excused(
            workload, promises.WRITABLE_ROOT_ANNOTATION
        ):
            violations.append(f"{where} has a writable root filesystem and no annotated reason")
        if context.get("capabilities", {}).get("add") and not _excused(
            workload, promises.RUNS_AS_ROOT_ANNOTATION
        ):
            violations.append(f"{where} adds capabilities")
    return violations


def writable_tmp_violations(rendered: Rendered) -> list[str]:
    """Our services run with a read-only root and write only to an emptyDir at /tmp."""
    violations = []
    for service in promises.SERVICES:
        workload = rendered.workload(service.name)
        empty_dirs = {v["name"] for v in pod_spec(workload).get("volumes", []) if "emptyDir" in v}
        for container in pod_spec(workload)["containers"]:
            if not any(
                m["mountPath"] == "/tmp" and m["name"] in empty_dirs
                for m in container.get("volumeMounts", [])
            ):
                violations.append(
                    f"{ref(workload)} container {container['name']} has no emptyDir at /tmp"
                )
    return violations
