"""Rolling updates: every Deployment moves to a new version under load without a failed request.

The negative control removes what makes a rollout safe (the preStop sleep, the readiness and
startup probes) from the api-gateway and shows the same check then sees failed requests. The
positive test rolls every Deployment out at once, as many times as it takes to catch such a
Deployment with 95 % chance (promises.yaml's `power`, measured with `python -m benchmarks.power`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from suites import promises
from suites.reporting.plugin import Timeline
from suites.resilience.live import (
    deployments_restored,
    make_unsafe,
    record,
    selector,
    wait_pods_gone,
    wait_rolled_out,
)
from testbed.kube import Kube, is_ready
from testbed.traffic import EVERY_BACKEND, TrafficProbe

pytestmark = pytest.mark.cluster

#: The issue's load for a rollout.
RATE = 55.0
MIN_ACHIEVED_RATE = 50.0
ROLLOUT_ANNOTATION = "demo-micro.dev/rollout"


def new_version_patch(container: str, version: str) -> dict[str, object]:
    """A new pod template: a rollout marker and an APP_VERSION that overrides the ConfigMap's."""
    return {
        "spec": {
            "template": {
                "metadata": {"annotations": {ROLLOUT_ANNOTATION: version}},
                "spec": {
                    "containers": [
                        {"name": container, "env": [{"name": "APP_VERSION", "value": version}]}
                    ]
                },
            }
        }
    }


@pytest.fixture(scope="module")
def every_service_restored(kube: Kube) -> Iterator[None]:
    """Every service's template and replicas put back once this module's tests are done, all
    rolled back at once: the suites after it see the manifests' versions again."""
    with deployments_restored(kube, [s.name for s in promises.SERVICES]):
        yield


def container_name(kube: Kube, deployment: str) -> str:
    name: str = kube.deployment(deployment).spec.template.spec.containers[0].name
    return name


def rollout_under_traffic(
    kube: Kube, gateway_url: str, versions: dict[str, str], marks: dict[str, float] | None = None
) -> TrafficProbe:
    """Roll each Deployment of `versions` out to its version, all at once, while the probe runs;
    return the finished probe.

    `marks` receives when (on the probe's clock) the rollouts started and finished.
    """
    marks = {} if marks is None else marks
    old_pods = {p.metadata.name for name in versions for p in kube.pods(selector(name))}
    with TrafficProbe(gateway_url, EVERY_BACKEND, rate=RATE, workers=32) as probe:
        marks["rollout started"] = probe.elapsed()
        for name, version in versions.items():
            kube.patch_deployment(name, new_version_patch(container_name(kube, name), version))
        for name in versions:
            wait_rolled_out(kube, name)
        marks["rolled out"] = probe.elapsed()
        # Keep the traffic on until every old pod has shut down: their exits are the risk.
        wait_pods_gone(kube, old_pods)
        marks["old pods gone"] = probe.elapsed()
    return probe


def pod_versions(kube: Kube, name: str) -> set[str]:
    versions = set()
    for pod in kube.pods(selector(name)):
        if not is_ready(pod):
            continue
        env = {e.name: e.value for e in pod.spec.containers[0].env or []}
        versions.add(env.get("APP_VERSION", "from ConfigMap"))
    return versions


#: How many rounds of rollouts (every Deployment at once), one after another: enough to catch,
#: with the stated chance, a Deployment as unsafe as the negative control's (promises.yaml,
#: `power`).
POWER = promises.power("rolling-updates")


def test_a_rolling_update_of_every_deployment_at_once_fails_no_request_at_50_per_second(
    kube: Kube, gateway_url: str, every_service_restored: None, timeline: Timeline
) -> None:
    # All four at once: each Deployment still gets its rollouts, under the load of the others'
    # (one after another, the four took 56 s on 7 Dec 2026).
    names = [service.name for service in promises.SERVICES]
    seen: list[str] = []
    for _ in range(POWER.repeats):
        # arrange: for each Deployment, a version no pod runs yet
        versions = {name: f"rollout-{uuid.uuid4().hex[:8]}" for name in names}

        # act: roll them all out under steady traffic through the NodePort
        marks: dict[str, float] = {}
        summary = rollout_under_traffic(kube, gateway_url, versions, marks).summary()
        timeline.attach(summary, marks)

        # assert: every replica updated and on its new version, the load held, nothing failed
        print(f"\n{', '.join(names)} rolled out together: {summary}")
        seen.append(str(summary))
        record("rolling_update_traffic.every-service", "; ".join(seen))
        record("power.rolling-updates", str(POWER))
        for name, version in versions.items():
            state = kube.workload("Deployment", name)
            assert state.rolled_out, str(state)
            assert pod_versions(kube, name) == {version}, name
        assert summary.rps >= MIN_ACHIEVED_RATE, f"the probe only reached {summary}"
        assert summary.failures == [], summary.timeline()


UNSAFE = "api-gateway"


@pytest.mark.clients_see_failures  # the unsafe rollout fails requests: that is the point
def test_negative_control_a_rollout_without_prestop_and_probes_fails_requests(
    kube: Kube, gateway_url: str, every_service_restored: None, timeline: Timeline
) -> None:
    # arrange: pods without the preStop sleep, readiness and startup probes (the unsafe recipe)
    make_unsafe(kube, UNSAFE)

    # act: the same rollout check as above
    marks: dict[str, float] = {}
    version = f"unsafe-{uuid.uuid4().hex[:8]}"
    result = rollout_under_traffic(kube, gateway_url, {UNSAFE: version}, marks).summary()
    timeline.attach(result, marks)

    # assert: the check notices
    print(f"\nunsafe {UNSAFE} rollout: {result.timeline()}")
    record("negative_control_unsafe_rollout", str(result))
    assert result.failures, f"the unsafe rollout failed no request: {result}"
