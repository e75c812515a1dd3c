"""API objects as the cluster answers them, for the tests of testbed/kube.py's readings."""

from __future__ import annotations

from kubernetes import client


def deployment(
    name: str, *, replicas: int, ready: int, updated: int, current: int, observed: int = 2
) -> client.V1Deployment:
    """A Deployment of `replicas` desired at generation 2: `current` pods in all, `ready` of them
    Ready, `updated` of the new template; its controller has seen generation `observed`."""
    return client.V1Deployment(
        metadata=client.V1ObjectMeta(name=name, generation=2),
        spec=client.V1DeploymentSpec(
            replicas=replicas,
            selector=client.V1LabelSelector(),
            template=client.V1PodTemplateSpec(),
        ),
        status=client.V1DeploymentStatus(
            replicas=current,
            ready_replicas=ready,
            updated_replicas=updated,
            observed_generation=observed,
        ),
    )
