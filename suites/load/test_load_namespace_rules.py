"""Promise (least privilege of the load harness): locust's pods, in their namespace of their own,
reach the gateway on its port and nothing else the cluster serves: not the API server, not
kube-dns' metrics, not the ingress controller; DNS answers them (the gateway is reached by its
name). Without the namespace's rules (the negative control) the same probe reaches all four:
the rules refuse them, not the cluster.

The probe is a pod with a locust worker's labels and a service image already on the nodes (no
load image to build); it tries each address until its answers agree with the expectation three
rounds running (kube-router programs a new pod's rules a few seconds after it starts), or its
time is up, and prints the last round. The namespace is deleted before and after.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from suites import promises
from suites.load import distributed
from testbed import images
from testbed.cluster import Testbed

pytestmark = pytest.mark.cluster

#: Seconds the probe has for its answers to agree with the expectation.
PROBE_SECONDS = 60
#: Each address the probe tries: a name the cluster's DNS answers, and a port.
GATEWAY = promises.DRAWING.workload(promises.API_NODE_PORT.workload)
ADDRESSES: dict[str, tuple[str, int]] = {
    "the gateway": (f"{GATEWAY.name}.{promises.DRAWING.namespace}.svc.cluster.local", GATEWAY.port),
    "the API server": ("kubernetes.default.svc.cluster.local", 443),
    "kube-dns' metrics": ("kube-dns.kube-system.svc.cluster.local", 9153),
    "the ingress controller": images.ingress_address("web"),
}
PROBE = r"""
import json, socket, sys, time
addresses, expected, seconds = json.loads(sys.argv[1]), json.loads(sys.argv[2]), float(sys.argv[3])

def reached(host, port):
    try:
        socket.create_connection((host, port), timeout=2).close()
        return True
    except OSError:
        return False

deadline, agreeing = time.monotonic() + seconds, 0
while True:
    seen = {name: reached(host, port) for name, (host, port) in addresses.items()}
    agreeing = agreeing + 1 if seen == expected else 0
    if agreeing == 3 or time.monotonic() > deadline:
        break
    time.sleep(1)
print(json.dumps(seen))
"""


def probe_pod(name: str, image: str, expected: dict[str, bool]) -> dict[str, Any]:
    """A pod with a locust worker's labels that runs PROBE once."""
    labels = {**distributed.APP_LABEL, "app.kubernetes.io/component": "worker"}
    argv = [json.dumps(ADDRESSES), json.dumps(expected), str(PROBE_SECONDS)]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": distributed.LOAD_NAMESPACE, "labels": labels},
        "spec": {
            "restartPolicy": "Never",
            "automountServiceAccountToken": False,
            "securityContext": {"runAsNonRoot": True, "runAsUser": 10001},
            "containers": [
                {
                    "name": "probe",
                    "image": image,
                    "imagePullPolicy": "Never",
                    "command": ["python", "-c", PROBE, *argv],
                    "resources": {"limits": {"cpu": "100m", "memory": "64Mi"}},
                    "securityContext": {
                        "allowPrivilegeEscalation": False,
                        "readOnlyRootFilesystem": True,
                        "capabilities": {"drop": ["ALL"]},
                    },
                }
            ],
        },
    }


def apply(testbed: Testbed, objects: list[dict[str, Any]]) -> None:
    stream = yaml.safe_dump_all(objects).encode()
    testbed.kubectl("apply", "-f", "-", stdin=stream, timeout=60)


def probed(testbed: Testbed, name: str, expected: dict[str, bool]) -> dict[str, bool]:
    """What the probe pod `name` reached, once it has finished."""
    image = testbed.settings.service_image(GATEWAY.name)
    apply(testbed, [probe_pod(name, image, expected)])
    testbed.kubectl(
        "wait", "-n", distributed.LOAD_NAMESPACE, f"pod/{name}",
        "--for=jsonpath={.status.phase}=Succeeded", f"--timeout={PROBE_SECONDS + 90}s",
        timeout=PROBE_SECONDS + 120,
    )  # fmt: skip
    log = testbed.kubectl("logs", "-n", distributed.LOAD_NAMESPACE, f"pod/{name}", timeout=30)
    seen: dict[str, bool] = json.loads(log.strip().splitlines()[-1])
    return seen


@pytest.fixture
def load_namespace(testbed: Testbed) -> Iterator[None]:
    """The load namespace with its rules, as a distributed run creates it; deleted before and
    after."""
    distributed.delete_namespace(testbed)
    apply(testbed, [distributed.namespace(), *distributed.network_policies()])
    try:
        yield
    finally:
        distributed.delete_namespace(testbed)


def test_locust_pods_reach_the_gateway_and_nothing_else(
    testbed: Testbed, load_namespace: None
) -> None:
    # arrange: only the gateway is expected to answer
    only_the_gateway = {name: name == "the gateway" for name in ADDRESSES}

    # act
    seen = probed(testbed, "probe-with-rules", only_the_gateway)

    # assert
    assert seen == only_the_gateway, f"reached: {seen}"


def test_negative_control_without_the_rules_the_same_probe_reaches_all_four(
    testbed: Testbed, load_namespace: None
) -> None:
    # arrange: the namespace's rules deleted
    testbed.kubectl(
        "delete", "networkpolicy", "--all", "-n", distributed.LOAD_NAMESPACE, timeout=60
    )
    everything = dict.fromkeys(ADDRESSES, True)

    # act
    seen = probed(testbed, "probe-without-rules", everything)

    # assert: every refusal above was the rules' doing
    assert seen == everything, f"reached: {seen}"
