"""Re-applying the manifests keeps a scaled-out service scaled out: its Deployment leaves the
replica count to its HorizontalPodAutoscaler (the autoscaling component takes `replicas` out),
so `kubectl apply` of the rendered manifests, as the testbed deploys them, does not set the
count back to the drawing's.

The session keeps the autoscalers suspended (conftest.py); this module puts the service's back
with its minimum raised to SCALED_OUT, the stand-in for a load that keeps the service scaled
out (a real load scales it too, but not to a count a 2-core machine holds steady). It applies
the service's Deployment, rendered from the testbed's overlay, once to start from what the
testbed deploys, waits for the autoscaler's count, then applies it again and watches the count
for longer than one autoscaler sync. The autoscaler's own manifest is not applied again: its
minimum would end the stand-in, where under a real load its CPU target holds the count.

The negative control applies the same Deployment with the drawing's `replicas` pinned again, as
the manifests did before, and sees the count shrink. Both run on one scale-out (a module
fixture), the control last, as pytest runs a module's tests in their order: its pinned count
stays in the Deployment's last-applied manifest until the module ends (the test refuses to run
on one). The watch ends at the first count below SCALED_OUT: the verdict is known then.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from kubepromises.waiting import NotYet, eventually
from suites import promises
from suites.resilience.live import ROLLOUT_TIMEOUT, record, selector, wait_rolled_out
from testbed.cluster import Testbed
from testbed.kube import AutoscalersSuspended, Kube

pytestmark = pytest.mark.cluster

SERVICE = "order-service"
DRAWN = promises.workload(SERVICE).replicas
#: One above the drawing's count, within the autoscaler's maximum.
SCALED_OUT = DRAWN + 1
#: The HPA controller syncs every 15 s: a count an apply shrank and the autoscaler raised again
#: shows within this.
WATCH_SECONDS = 20.0
#: Where `kubectl apply` keeps the manifest it applied last.
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
#: The autoscaler's first sync after it is created, then the new pod's start.
SCALE_OUT_TIMEOUT = 30.0 + ROLLOUT_TIMEOUT


@pytest.fixture(scope="module")
def rendered_deployment(testbed: Testbed) -> dict[str, Any]:
    """The service's Deployment as the testbed's overlay renders it (the kustomize that
    `kubectl apply -k` runs)."""
    out = testbed.kubectl("kustomize", str(testbed.overlay), timeout=120)
    (deployment,) = [
        doc
        for doc in yaml.safe_load_all(out)
        if doc and doc["kind"] == "Deployment" and doc["metadata"]["name"] == SERVICE
    ]
    assert "replicas" not in deployment["spec"], "the rendered Deployment pins its replicas"
    body: dict[str, Any] = deployment
    return body


def apply(testbed: Testbed, deployment: dict[str, Any]) -> int:
    """`kubectl apply` of the Deployment, as the testbed applies its overlay; the replica count
    the API server answered with, which is what the apply set, before any controller acts."""
    out = testbed.kubectl(
        "apply", "-o", "json", "-f", "-", stdin=json.dumps(deployment).encode(), timeout=60
    )
    count: int = json.loads(out)["spec"]["replicas"]
    return count


def wait_scaled_to(kube: Kube, count: int) -> None:
    def scaled() -> None:
        state = kube.workload("Deployment", SERVICE)
        if state.desired != count or not state.rolled_out:
            raise NotYet(state)

    eventually(
        scaled,
        timeout=SCALE_OUT_TIMEOUT,
        interval=1,
        what=f"Deployment/{SERVICE} at its autoscaler's {count} replicas, rolled out",
        hint=f"kubectl -n {promises.NAMESPACE} describe hpa {SERVICE}",
    )
    wait_rolled_out(kube, SERVICE)


@pytest.fixture(scope="module")
def scaled_out(
    kube: Kube,
    testbed: Testbed,
    autoscalers_suspended: AutoscalersSuspended,
    rendered_deployment: dict[str, Any],
) -> Iterator[dict[str, Any]]:
    """The service as the testbed deploys it, its autoscaler back with the minimum SCALED_OUT
    and the Deployment scaled there; afterwards the autoscaler suspended again, the
    Deployment's last-applied manifest the rendered one (a control leaves a pinned count
    there, which a later apply would remove, setting the count to Kubernetes' default 1) and
    the count the drawing's."""
    (saved,) = [b for b in autoscalers_suspended.saved if b["metadata"]["name"] == SERVICE]
    body = copy.deepcopy(saved)
    body["spec"]["minReplicas"] = SCALED_OUT
    kube.autoscaling.create_namespaced_horizontal_pod_autoscaler(kube.namespace, body)
    try:
        # A cluster deployed from manifests that pinned the count drops to 1 here, once.
        apply(testbed, rendered_deployment)
        wait_scaled_to(kube, SCALED_OUT)
        yield rendered_deployment
    finally:
        kube.autoscaling.delete_namespaced_horizontal_pod_autoscaler(SERVICE, kube.namespace)
        testbed.kubectl(
            "apply", "set-last-applied", "-f", "-", stdin=json.dumps(rendered_deployment).encode()
        )
        kube.scale("Deployment", SERVICE, DRAWN)
        wait_rolled_out(kube, SERVICE)


def lowest_count(kube: Kube, applied: int) -> tuple[int, list[str]]:
    """The lowest replica count from the apply on: the apply's own, then over WATCH_SECONDS
    the Deployment's desired count and its pods not on their way out, until one is below
    SCALED_OUT; and what was seen."""
    lowest, seen = applied, [f"0.0 s: the apply set {applied}"]
    started = time.monotonic()
    while lowest >= SCALED_OUT and (elapsed := time.monotonic() - started) < WATCH_SECONDS:
        desired = kube.workload("Deployment", SERVICE).desired
        staying = [p for p in kube.pods(selector(SERVICE)) if p.metadata.deletion_timestamp is None]
        if min(desired, len(staying)) < lowest or not seen[1:]:
            seen.append(f"{elapsed:.1f} s: {desired} desired, {len(staying)} pods staying")
        lowest = min(lowest, desired, len(staying))
        time.sleep(0.5)  # an observation over a window, not a wait for a condition
    return lowest, seen


def test_reapplying_the_manifests_keeps_a_scaled_out_services_replicas(
    kube: Kube, testbed: Testbed, scaled_out: dict[str, Any]
) -> None:
    # arrange: the service at SCALED_OUT (the fixture), its manifest as the testbed applies it
    last_applied = kube.deployment(SERVICE).metadata.annotations[LAST_APPLIED]
    assert "replicas" not in json.loads(last_applied)["spec"], (
        "the Deployment's last-applied manifest pins its replicas: did the control run first?"
    )
    # act: the rendered Deployment applied again
    applied = apply(testbed, scaled_out)
    lowest, seen = lowest_count(kube, applied)

    # assert: never below SCALED_OUT
    print(f"\n{SERVICE} at {SCALED_OUT}, the manifests applied again: {'; '.join(seen)}")
    record("reapply.lowest_replicas", f"{lowest} of {SCALED_OUT} ({WATCH_SECONDS:.0f} s)")
    assert lowest >= SCALED_OUT, seen


def test_negative_control_reapplying_a_deployment_that_pins_its_replicas_shrinks_the_service(
    kube: Kube, testbed: Testbed, scaled_out: dict[str, Any]
) -> None:
    # arrange: the service at SCALED_OUT; its Deployment with the drawing's count pinned
    pinned = copy.deepcopy(scaled_out)
    pinned["spec"]["replicas"] = DRAWN
    # act
    applied = apply(testbed, pinned)
    lowest, seen = lowest_count(kube, applied)

    # assert: the same check sees the shrink
    print(f"\n{SERVICE} at {SCALED_OUT}, a pinned Deployment applied: {'; '.join(seen)}")
    record("reapply.negative_control", f"{lowest} of {SCALED_OUT} ({seen[-1]})")
    assert applied == DRAWN, seen
    assert lowest < SCALED_OUT, seen
