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


def test_a_container_waiting_on_an_image_names_the_reason_and_message() -> None:
    waiting = client.V1ContainerStatus(
        name="redis",
        image="demo-micro/redis:7",
        image_id="",
        ready=False,
        restart_count=0,
        state=client.V1ContainerState(
            waiting=client.V1ContainerStateWaiting(
                reason="ErrImageNeverPull", message='image "demo-micro/redis:7" is not present'
            )
        ),
    )
    troubles = _container_troubles(pod(waiting))
    assert troubles[0] == (
        'redis: not ready, restarts 0, waiting ErrImageNeverPull: image "demo-micro/redis:7" '
        "is not present"
    )
    assert troubles[1] == "Ready: containers with unready status: [redis]"


def test_a_restarting_container_names_its_last_exit() -> None:
    crashed = client.V1ContainerStatus(
        name="order-service",
        image="demo-micro/order-service:0.1.0",
        image_id="",
        ready=False,
        restart_count=4,
        state=client.V1ContainerState(
            waiting=client.V1ContainerStateWaiting(reason="CrashLoopBackOff")
        ),
        last_state=client.V1ContainerState(
            terminated=client.V1ContainerStateTerminated(reason="OOMKilled", exit_code=137)
        ),
    )
    (said, _) = _container_troubles(pod(crashed))
    assert said == (
        "order-service: not ready, restarts 4, waiting CrashLoopBackOff: , "
        "last ended OOMKilled (exit 137)"
    )


def test_a_pod_with_no_status_yet_says_so_and_ready_containers_are_left_out() -> None:
    assert _container_troubles(pod(ready="True")) == ["no container status yet"]
    fine = client.V1ContainerStatus(
        name="redis", image="r", image_id="", ready=True, restart_count=0
    )
    assert _container_troubles(pod(fine, ready="True")) == ["no container status yet"]
    assert not is_ready(pod(fine, ready="False"))
