"""The bring-up's wait counts an autoscaled Deployment ready only at its autoscaler's minimum
(testbed/kube.py, `below_autoscaler_minimum`): the manifests leave its replicas to the
autoscaler, so a new one rolls out at one pod before the autoscaler's first sync."""

from __future__ import annotations

from types import SimpleNamespace

from kubernetes import client

from suites.testbed import objects
from testbed.kube import Kube


def deployment(replicas: int) -> client.V1Deployment:
    """order-service rolled out at `replicas` pods."""
    return objects.deployment(
        "order-service", replicas=replicas, ready=replicas, updated=replicas, current=replicas
    )


def autoscaler(minimum: int) -> client.V2HorizontalPodAutoscaler:
    return client.V2HorizontalPodAutoscaler(
        metadata=client.V1ObjectMeta(name="order-service"),
        spec=client.V2HorizontalPodAutoscalerSpec(
            scale_target_ref=client.V2CrossVersionObjectReference(
                api_version="apps/v1", kind="Deployment", name="order-service"
            ),
            min_replicas=minimum,
            max_replicas=4,
        ),
    )


def kube_with(replicas: int, minimum: int) -> Kube:
    """A Kube whose API answers with one Deployment and its autoscaler."""
    kube = Kube.__new__(Kube)
    kube.namespace = "demo-micro"
    kube.apps = SimpleNamespace(
        read_namespaced_deployment=lambda name, namespace: deployment(replicas)
    )
    kube.autoscaling = SimpleNamespace(
        list_namespaced_horizontal_pod_autoscaler=lambda namespace: SimpleNamespace(
            items=[autoscaler(minimum)]
        )
    )
    return kube


def test_an_autoscaled_deployment_at_its_minimum_is_not_held_back() -> None:
    assert kube_with(replicas=2, minimum=2).below_autoscaler_minimum() == []


def test_an_autoscaled_deployment_rolled_out_at_one_pod_below_its_minimum_is_named() -> None:
    # arrange: created without replicas, before the autoscaler's first sync
    kube = kube_with(replicas=1, minimum=2)
    # act / assert: rolled out, yet not at the drawing's count
    assert kube.workload("Deployment", "order-service").rolled_out
    assert kube.below_autoscaler_minimum() == [
        "Deployment/order-service: 1 replicas, minReplicas 2"
    ]
