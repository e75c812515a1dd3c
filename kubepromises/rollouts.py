"""A Deployment rolled out to a new pod template or scaled, and the wait until it has settled:
every replica updated, Ready and available, no pod left on its way out. For the live suite's
rolling-update and scaling tests and their negative controls, which also strip a template of
what makes a pod's way in and out safe.
"""

from __future__ import annotations

import time
from typing import Any

from kubepromises.waiting import NotYet, eventually

#: The annotation a rollout sets on the pod template: a new template, the same pods' spec.
ROLLED_AT = "kubepromises.dev/rolled-at"
#: What a negative control takes from the first container: the preStop hook that lets the
#: Service stop sending before SIGTERM, and the probes that keep a starting pod out of it.
SAFETY = ("lifecycle", "readinessProbe", "startupProbe")
#: How long a scaled-out Deployment serves before it is scaled back. Without it the added pods
#: can be removed again before kube-proxy ever routes to them, and then neither their start nor
#: their shutdown is tested (a control once failed no request that way, the whole 2-4-2 in
#: 5.2 s); 10 s is enough for every node's kube-proxy to send them traffic, so the scale-in
#: takes away pods that are carrying requests.
HOLD_SCALED_OUT = 10.0
#: A rollout or a scaling, each pod Ready within the drawing's bound, is done in far less; this
#: bounds the wait, not the promise.
SETTLE_TIMEOUT = 240.0


def _apps(api: Any) -> Any:
    from kubernetes import client

    return client.AppsV1Api(api)


def pod_names(api: Any, namespace: str, name: str) -> set[str]:
    """The Deployment's pods (its selector's matchLabels), terminating ones included."""
    from kubernetes import client

    labels = _apps(api).read_namespaced_deployment(name, namespace).spec.selector.match_labels
    selector = ",".join(f"{key}={value}" for key, value in sorted((labels or {}).items()))
    pods = client.CoreV1Api(api).list_namespaced_pod(namespace, label_selector=selector).items
    return {pod.metadata.name for pod in pods}


def template(api: Any, namespace: str, name: str) -> dict[str, Any]:
    """The Deployment's pod template as plain JSON, to put back with `restore`."""
    deployment = _apps(api).read_namespaced_deployment(name, namespace)
    saved: dict[str, Any] = api.sanitize_for_serialization(deployment.spec.template)
    return saved


def roll_out(api: Any, namespace: str, name: str) -> None:
    """Start a rollout: a new pod template (ROLLED_AT)."""
    stamp = {"spec": {"template": {"metadata": {"annotations": {ROLLED_AT: f"{time.time():.3f}"}}}}}
    _apps(api).patch_namespaced_deployment(name, namespace, stamp)


def strip_safety(api: Any, namespace: str, name: str) -> list[str]:
    """Take SAFETY from the first container of the Deployment's template (a rollout starts);
    the fields it took."""
    container = template(api, namespace, name)["spec"]["containers"][0]
    present = [field for field in SAFETY if field in container]
    removals = [
        {"op": "remove", "path": f"/spec/template/spec/containers/0/{field}"} for field in present
    ]
    if removals:
        _apps(api).patch_namespaced_deployment(name, namespace, removals)
    return present


def restore(api: Any, namespace: str, name: str, saved: dict[str, Any]) -> None:
    """Put the template back as `template` saved it (a rollout starts if it differs)."""
    replace = [{"op": "replace", "path": "/spec/template", "value": saved}]
    _apps(api).patch_namespaced_deployment(name, namespace, replace)


def scale(api: Any, namespace: str, name: str, replicas: int) -> None:
    """Ask the Deployment for `replicas` pods."""
    _apps(api).patch_namespaced_deployment_scale(name, namespace, {"spec": {"replicas": replicas}})


def autoscaled(api: Any, namespace: str, name: str) -> bool:
    """Whether a HorizontalPodAutoscaler of the namespace sizes the Deployment."""
    from kubernetes import client

    autoscalers = client.AutoscalingV2Api(api).list_namespaced_horizontal_pod_autoscaler(namespace)
    return any(
        hpa.spec.scale_target_ref.kind == "Deployment" and hpa.spec.scale_target_ref.name == name
        for hpa in autoscalers.items
    )


def wait_settled(api: Any, namespace: str, name: str) -> float:
    """Until the Deployment has settled on its spec: the controller saw it, every replica is
    updated, Ready and available, and it has no other pod, not even one on its way out (a
    replaced or removed pod's exit is part of the change); the seconds it took."""
    started = time.monotonic()

    def done() -> float:
        deployment = _apps(api).read_namespaced_deployment(name, namespace)
        status, wanted = deployment.status, deployment.spec.replicas
        counts = (
            status.updated_replicas or 0,
            status.ready_replicas or 0,
            status.available_replicas or 0,
            status.replicas or 0,
        )
        if (status.observed_generation or 0) < deployment.metadata.generation:
            raise NotYet("the controller has not seen the new spec yet")
        if counts != (wanted,) * 4:
            raise NotYet(f"updated, ready, available, all: {counts}; wanted {wanted} each")
        pods = pod_names(api, namespace, name)
        if len(pods) != wanted:
            raise NotYet(f"{len(pods)} pods, some on their way out: {sorted(pods)}")
        return time.monotonic() - started

    return eventually(
        done,
        timeout=SETTLE_TIMEOUT,
        interval=0.5,
        what=f"Deployment/{name} settled on its spec",
        hint=f"kubectl -n {namespace} rollout status deployment/{name}; the new pods' events",
    )


def set_memory(api: Any, namespace: str, name: str, container: str, size: int) -> None:
    """Give the container of the Deployment's template this memory limit and request, in bytes
    (a rollout starts; a request above the limit would be refused)."""
    memory = {"memory": str(size)}
    resources = {"limits": memory, "requests": memory}
    patch = {
        "spec": {
            "template": {"spec": {"containers": [{"name": container, "resources": resources}]}}
        }
    }
    _apps(api).patch_namespaced_deployment(name, namespace, patch)
