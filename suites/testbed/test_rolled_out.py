"""When a workload counts as rolled out (testbed/kube.py): the bring-up's wait and the live
suites' waits stop there, so an old pod still serving must keep them waiting."""

from kubernetes import client

from suites.testbed import objects
from testbed.kube import WorkloadState, workload_state


def deployment(
    *, replicas: int, ready: int, updated: int, current: int, observed: int = 2
) -> client.V1Deployment:
    return objects.deployment(
        "api-gateway",
        replicas=replicas,
        ready=ready,
        updated=updated,
        current=current,
        observed=observed,
    )


def test_a_deployment_with_every_pod_of_the_new_template_ready_is_rolled_out() -> None:
    state = workload_state("Deployment", deployment(replicas=2, ready=2, updated=2, current=2))

    assert state.rolled_out, str(state)


def test_negative_control_an_old_pod_still_running_beside_two_new_ones_is_not_rolled_out() -> None:
    # Mid-rollout: one old and one new pod Ready, the second new one starting (seen as 2/2 ready
    # and 2 updated).
    state = workload_state("Deployment", deployment(replicas=2, ready=2, updated=2, current=3))

    assert not state.rolled_out
    assert str(state) == "Deployment/api-gateway 2/2 ready, 2 updated, 3 in all"


def test_a_template_the_controller_has_not_seen_yet_is_not_rolled_out() -> None:
    state = deployment(replicas=2, ready=2, updated=2, current=2, observed=1)

    assert not workload_state("Deployment", state).rolled_out


def test_a_workload_short_of_ready_pods_is_not_rolled_out() -> None:
    state = WorkloadState(
        "StatefulSet", "order-db", desired=1, ready=0, updated=1, generation_observed=True,
        current=1,
    )  # fmt: skip

    assert not state.rolled_out
