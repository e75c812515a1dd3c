"""The drawing's autoscalers on the cluster: each reports its metrics, and acts on them.

A workload's `autoscaling` (drawing.yaml) says a HorizontalPodAutoscaler sizes it. `read` takes
the namespace's autoscalers from the API as plain objects; the checks are pure functions of the
drawing and that state, returning violations as `kubepromises.live`'s do:
- `metric_violations`: each autoscaler the drawing draws exists, targets a workload that exists,
  and reports a CPU reading (status.currentMetrics) — without one it can never act;
- `scale_out_violations`: the workload runs more Ready replicas than before the load.

How the generic suite makes an autoscaler act on any drawing: it lowers the autoscaler's CPU
target to LOAD_TARGET_PERCENT for the test (`lower_cpu_target`, put back with `restore`), while
the rolling update's steady traffic reaches the workload. What a request costs a service, and so
what load would reach its real target, is the service's own business (a system's own suite may
load a service until its real target is reached): traffic alone would leave a generic test
without meaning wherever the drawing's target is above what the traffic makes the pods use. At
1 % every serving pod is over the target, so the autoscaler scales out exactly when it reads the
pods' metrics and acts on them: what the test proves is that chain (metrics-server, the metrics
API, the autoscaler's decision, the Deployment scaled, the new pods Ready and serving without a
failed request), within the drawing's `scale-out` SLO. The way back to the minimum is not waited
for: the autoscaler's default scale-down window is 5 minutes.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from kubepromises.drawing import Drawing, Workload
from kubepromises.live import Observed, ready_pods
from kubepromises.static import Obj, autoscalers_of, find, ref

#: The drawing's SLO that bounds a scale-out, when it has one.
SCALE_OUT_SLO = "scale-out"
#: Without such an SLO, how long a scale-out may take before the test gives up.
SCALE_OUT_WITHOUT_SLO_SECONDS = 120.0
#: The CPU target the scale-out test gives an autoscaler: every pod that serves is over it.
LOAD_TARGET_PERCENT = 1
#: What a detached autoscaler's target is named after (a name no workload has).
DETACHED = "-detached-by-kubepromises"
#: How long an autoscaler may take to report its first CPU reading after it is created:
#: metrics-server scrapes every 15 s, the autoscaler reads every 15 s.
METRICS_TIMEOUT = 90.0


def _api(api: Any) -> Any:
    from kubernetes import client

    return client.AutoscalingV2Api(api)


def read(api: Any, namespace: str) -> tuple[Obj, ...]:
    """The namespace's HorizontalPodAutoscalers, as `kubectl get -o json` prints them."""
    listing = _api(api).list_namespaced_horizontal_pod_autoscaler(namespace)
    return tuple(
        {**api.sanitize_for_serialization(item), "kind": "HorizontalPodAutoscaler"}
        for item in listing.items
    )


def current_cpu(autoscaler: Obj) -> int | None:
    """The pods' average CPU use the autoscaler last read, in % of their request; None when it
    reports none."""
    for metric in (autoscaler.get("status") or {}).get("currentMetrics") or []:
        resource = metric.get("resource") or {}
        current = resource.get("current") or {}
        if resource.get("name") == "cpu" and current.get("averageUtilization") is not None:
            percent: int = current["averageUtilization"]
            return percent
    return None


def _why_inactive(autoscaler: Obj) -> str:
    """The autoscaler's own word on why it cannot scale (its ScalingActive condition)."""
    for condition in (autoscaler.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "ScalingActive" and condition.get("status") != "True":
            return f": {condition.get('reason')}: {condition.get('message')}"
    return ""


def metric_violations(
    drawing: Drawing, overlay: str, workloads: Sequence[Obj], autoscalers: Sequence[Obj]
) -> list[str]:
    """Each workload the drawing autoscales in the overlay is running, one autoscaler targets
    it, and that autoscaler reports the pods' CPU use."""
    violations = []
    for workload in drawing.workloads_in(overlay):
        if drawing.autoscaled(overlay, workload) is None:
            continue
        where = drawing.where(*drawing.field_of(workload), "autoscaling")
        obj = find(workloads, workload.kind, workload.name)
        if obj is None:
            targeting = [
                a
                for a in autoscalers
                if a["spec"]["scaleTargetRef"].get("name") == workload.name
                and a["spec"]["scaleTargetRef"].get("kind") == workload.kind
            ]
            violations += [
                f"{ref(a)} targets {workload.kind}/{workload.name}, which does not exist"
                for a in targeting
            ]
            if not targeting:
                violations.append(f"{workload.kind}/{workload.name} is not running ({where})")
            continue
        found = autoscalers_of(obj, autoscalers)
        if not found:
            violations.append(f"no autoscaler targets {ref(obj)} ({where})")
            continue
        for autoscaler in found:
            if current_cpu(autoscaler) is None:
                shown = (autoscaler.get("status") or {}).get("currentMetrics")
                violations.append(
                    f"{ref(autoscaler)} reports no CPU use of {ref(obj)}'s pods "
                    f"(status.currentMetrics: {shown}){_why_inactive(autoscaler)}"
                )
    return violations


def scale_out_violations(workload: Workload, observed: Observed, above: int) -> list[str]:
    """The workload runs more than `above` Ready replicas."""
    obj = find(observed.workloads, workload.kind, workload.name)
    if obj is None:
        return [f"{workload.kind}/{workload.name} is not running"]
    ready = len(ready_pods(observed, obj))
    if ready <= above:
        return [f"{ref(obj)} has {ready} replicas Ready, not above {above}"]
    return []


def spec(api: Any, namespace: str, name: str) -> Obj:
    """The autoscaler's spec as plain JSON, to put back with `restore`."""
    autoscaler = _api(api).read_namespaced_horizontal_pod_autoscaler(name, namespace)
    saved: Obj = api.sanitize_for_serialization(autoscaler.spec)
    return saved


def with_cpu_target(saved: Obj, percent: int) -> Obj:
    """A copy of an autoscaler's spec whose CPU target is `percent` % of the pods' request
    (added when it scales on something else only)."""
    changed = copy.deepcopy(saved)
    metrics = [
        m
        for m in changed.get("metrics") or []
        if not (m.get("type") == "Resource" and (m.get("resource") or {}).get("name") == "cpu")
    ]
    target = {"type": "Utilization", "averageUtilization": percent}
    changed["metrics"] = [
        *metrics,
        {"type": "Resource", "resource": {"name": "cpu", "target": target}},
    ]
    return changed


def restore(api: Any, namespace: str, name: str, saved: Obj) -> None:
    """Give the autoscaler this spec (as `spec` saved it, or changed)."""
    replace = [{"op": "replace", "path": "/spec", "value": saved}]
    _api(api).patch_namespaced_horizontal_pod_autoscaler(name, namespace, replace)


def lower_cpu_target(api: Any, namespace: str, name: str, saved: Obj) -> None:
    """The autoscaler's CPU target lowered to LOAD_TARGET_PERCENT (`restore` puts it back)."""
    restore(api, namespace, name, with_cpu_target(saved, LOAD_TARGET_PERCENT))


def detached(saved: Obj) -> Obj:
    """A copy of an autoscaler's spec that targets no workload (DETACHED after its target's
    name): the autoscaler leaves the workload's count alone, and records no recommendation of
    its own meanwhile (it cannot read the target's scale)."""
    changed = copy.deepcopy(saved)
    changed["scaleTargetRef"] = {
        **changed["scaleTargetRef"],
        "name": f"{changed['scaleTargetRef']['name']}{DETACHED}",
    }
    return changed
