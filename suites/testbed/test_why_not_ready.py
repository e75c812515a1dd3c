"""When workloads do not come up, the testbed names each pod's trouble (the reason a person would
otherwise dig out of `kubectl describe`): waiting reasons, last exits, unmet conditions."""

from __future__ import annotations

from kubernetes import client

from testbed.kube import _container_troubles, is_ready


def pod(*statuses: client.V1ContainerStatus, ready: str = "False") -> client.V1Pod:
    return client.V1Pod(
        metadata=client.V1ObjectMeta(name="redis-0", namespace="demo-micro"),
        status=client.V1PodStatus(
            phase="Pending",
            container_statuses=list(statuses),
            conditions=[
                client.V1PodCondition(
                    type="Ready", status=ready, message="containers with unready status: [redis]"
                )
            ],
        ),
    )


def container(
    name: str,
    *,
    ready: bool = False,
    restarts: int = 0,
    waiting: client.V1ContainerStateWaiting | None = None,
    ended: client.V1ContainerStateTerminated | None = None,
) -> client.V1ContainerStatus:
    return client.V1ContainerStatus(
        name=name,
        image=f"demo-micro/{name}",
        image_id="",
        ready=ready,
        restart_count=restarts,
        state=client.V1ContainerState(waiting=waiting) if waiting else None,
        last_state=client.V1ContainerState(terminated=ended) if ended else None,
    )


def test_a_container_waiting_on_an_image_names_the_reason_and_message() -> None:
    waiting = container(
        "redis",
        waiting=client.V1ContainerStateWaiting(
            reason="ErrImageNeverPull", message='image "demo-micro/redis:7" is not present'
        ),
    )
    troubles = _container_troubles(pod(waiting))
    assert troubles[0] == (
        'redis: not ready, restarts 0, waiting ErrImageNeverPull: image "demo-micro/redis:7" '
        "is not present"
    )
    assert troubles[1] == "Ready: containers with unready status: [redis]"


def test_a_restarting_container_names_its_last_exit() -> None:
    crashed = container(
        "order-service",
        restarts=4,
        waiting=client.V1ContainerStateWaiting(reason="CrashLoopBackOff"),
        ended=client.V1ContainerStateTerminated(reason="OOMKilled", exit_code=137),
    )
    (said, _) = _container_troubles(pod(crashed))
    assert said == (
        "order-service: not ready, restarts 4, waiting CrashLoopBackOff: , "
        "last ended OOMKilled (exit 137)"
    )


def test_a_pod_with_no_status_yet_says_so_and_ready_containers_are_left_out() -> None:
    assert _container_troubles(pod(ready="True")) == ["no container status yet"]
    fine = container("redis", ready=True)
    assert _container_troubles(pod(fine, ready="True")) == ["no container status yet"]
    assert not is_ready(pod(fine, ready="False"))
