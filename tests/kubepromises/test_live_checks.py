"""The live checks (`kubepromises.live`) on a state written here, and the plugin's live options.

The generic live suite runs these checks on a real cluster with controls on copies of what it
reads; here each check is shown, without a cluster, to hold on a healthy state of the shop
example and to name each breakage it exists for, including the ones a cluster rarely shows on
demand (a terminating replica, a tainted node, a claim smaller than the drawing's).
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import pytest

from kubepromises.drawing import Drawing
from kubepromises.live import (
    Observed,
    call_violations,
    claim_violations,
    configuration_violations,
    endpoint_violations,
    isolation_violations,
    node_port_violations,
    ready_replica_violations,
    spread_violations,
)
from kubepromises.static import Obj
from tests.kubepromises.example import SHOP_DRAWING

pytest_plugins = ["pytester"]

NODES = ("worker-a", "worker-b", "worker-c")


def node(name: str, taints: list[Obj] | None = None) -> Obj:
    return {
        "kind": "Node",
        "metadata": {"name": name},
        "spec": {"taints": taints or []},
        "status": {
            "conditions": [{"type": "Ready", "status": "True"}],
            "addresses": [{"type": "InternalIP", "address": f"10.0.0.{NODES.index(name) + 1}"}],
        },
    }


def pod(workload: str, index: int) -> Obj:
    return {
        "kind": "Pod",
        "metadata": {"name": f"{workload}-{index}", "labels": {"app": workload}},
        "spec": {"nodeName": NODES[index % len(NODES)]},
        "status": {
            "phase": "Running",
            "podIP": f"10.1.{len(workload)}.{index}",
            "conditions": [{"type": "Ready", "status": "True"}],
        },
    }


def healthy(drawing: Drawing, overlay: str) -> Observed:
    """The state of a cluster where the overlay runs as drawn."""
    workloads, pods, slices = [], [], []
    for w in drawing.workloads_in(overlay):
        workloads.append(
            {
                "kind": w.kind,
                "metadata": {"name": w.name},
                "spec": {"selector": {"matchLabels": {"app": w.name}}},
            }
        )
        mine = [pod(w.name, i) for i in range(w.replicas)]
        pods += mine
        slices.append(
            {
                "metadata": {"labels": {"kubernetes.io/service-name": w.name}},
                "endpoints": [
                    {"addresses": [p["status"]["podIP"]], "conditions": {"ready": True}}
                    for p in mine
                ],
            }
        )
    claims = [
        {
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": v.pvc_name},
            "status": {"phase": "Bound", "capacity": {"storage": v.size}},
        }
        for v in drawing.volumes_in(overlay)
    ]
    return Observed(
        pods=tuple(pods),
        workloads=tuple(workloads),
        endpoint_slices=tuple(slices),
        claims=tuple(claims),
        configmaps=frozenset(drawing.configmaps_in(overlay)) | {"kube-root-ca.crt"},
        secrets=frozenset(drawing.secrets),
        nodes=tuple(node(n) for n in NODES),
    )


def changed(observed: Observed, **parts: Any) -> Observed:
    return dataclasses.replace(observed, **parts)


def with_pod(observed: Observed, name: str, edit: Any) -> Observed:
    """A copy where one pod is changed by `edit`."""
    pods = copy.deepcopy(observed.pods)
    edit(next(p for p in pods if p["metadata"]["name"] == name))
    return changed(observed, pods=pods)


def test_a_claim_is_compared_by_quantity_not_by_text(shop: Drawing, overlay: str) -> None:
    """3Gi written as 3072Mi is the drawing's size; 3000Mi is less."""
    state = healthy(shop, overlay)
    volume = shop.volumes_in(overlay)[0]
    assert volume.size == "3Gi"
    claims = copy.deepcopy(state.claims)
    claims[0]["status"]["capacity"]["storage"] = "3072Mi"
    assert claim_violations(shop, overlay, changed(state, claims=claims)) == []
    claims[0]["status"]["capacity"]["storage"] = "3000Mi"
    [violation] = claim_violations(shop, overlay, changed(state, claims=claims))
    assert "holds 3000Mi" in violation


def test_every_check_holds_on_a_healthy_state(shop: Drawing, overlay: str) -> None:
    # arrange
    state = healthy(shop, overlay)
    # act
    found = {
        check.__name__: check(shop, overlay, state)
        for check in (
            ready_replica_violations,
            spread_violations,
            claim_violations,
            configuration_violations,
            endpoint_violations,
        )
    }
    found["node ports"] = node_port_violations(shop, overlay, state, lambda _a, _p: True)
    found["calls"] = call_violations(shop, overlay, state, lambda _pod, _host, _port: None)
    # assert
    assert found == {name: [] for name in found}


def test_a_terminating_replica_counts_as_missing(shop: Drawing, overlay: str) -> None:
    state = with_pod(
        healthy(shop, overlay),
        "storefront-0",
        lambda p: p["metadata"].update(deletionTimestamp="2026-12-05T06:00:00Z"),
    )
    violations = ready_replica_violations(shop, overlay, state)
    assert any("storefront-0" in v and "2 replicas Ready" in v for v in violations), violations


def test_a_missing_workload_is_named_with_the_drawings_line(shop: Drawing, overlay: str) -> None:
    state = healthy(shop, overlay)
    state = changed(
        state, workloads=tuple(w for w in state.workloads if w["metadata"]["name"] != "checkout")
    )
    [violation] = ready_replica_violations(shop, overlay, state)
    assert violation.startswith("Deployment/checkout is not running (drawing.yaml:")


def test_replicas_sharing_a_node_fail_the_spread_check(shop: Drawing, overlay: str) -> None:
    state = with_pod(
        healthy(shop, overlay), "storefront-1", lambda p: p["spec"].update(nodeName="worker-a")
    )
    [violation] = spread_violations(shop, overlay, state)
    assert violation.startswith("Deployment/storefront's Ready replicas share nodes")


def test_a_tainted_node_does_not_count_for_the_spread(shop: Drawing, overlay: str) -> None:
    """Two schedulable nodes for three storefront replicas: two nodes apart is all there can be."""
    state = healthy(shop, overlay)
    tainted = node("worker-c", [{"key": "lost", "effect": "NoExecute"}])
    state = changed(state, nodes=(*state.nodes[:2], tainted))
    state = with_pod(state, "storefront-2", lambda p: p["spec"].update(nodeName="worker-a"))
    assert spread_violations(shop, overlay, state) == []


def test_a_claim_smaller_than_the_drawing_is_caught(shop: Drawing, overlay: str) -> None:
    state = healthy(shop, overlay)
    claims = copy.deepcopy(state.claims)
    volume = shop.volumes_in(overlay)[0]
    claims[0]["status"]["capacity"]["storage"] = "1Mi"
    [violation] = claim_violations(shop, overlay, changed(state, claims=claims))
    assert "holds 1Mi" in violation
    assert volume.size in violation


def test_a_missing_secret_is_caught(shop: Drawing, overlay: str) -> None:
    state = changed(healthy(shop, overlay), secrets=frozenset())
    [violation] = configuration_violations(shop, overlay, state)
    assert violation.startswith(f"Secret/{shop.secrets[0]} does not exist")


def test_an_endpoint_of_a_replica_not_ready_is_caught(shop: Drawing, overlay: str) -> None:
    """The Service still sends to a replica whose readiness failed."""
    state = with_pod(
        healthy(shop, overlay),
        "checkout-1",
        lambda p: p["status"]["conditions"][0].update(status="False"),
    )
    violations = endpoint_violations(shop, overlay, state)
    assert any(v.startswith("Service/checkout") for v in violations), violations


def test_a_refusing_node_is_named_by_the_node_port_check(shop: Drawing, overlay: str) -> None:
    state = healthy(shop, overlay)
    violations = node_port_violations(shop, overlay, state, lambda a, _p: a != "10.0.0.2")
    assert len(violations) == len(shop.node_ports_in(overlay))
    assert all("refuses connections on 10.0.0.2" in v for v in violations)


def test_a_call_that_does_not_open_is_named_with_the_drawings_line(
    shop: Drawing, overlay: str
) -> None:
    """Each call is probed from a Ready pod of its caller; one that meets an error is named."""
    probed: list[tuple[str, str, int]] = []

    def connect(pod: str, host: str, port: int) -> str | None:
        probed.append((pod, host, port))
        return "gaierror: [Errno -2] Name or service not known" if host == "cart-cache" else None

    violations = call_violations(shop, overlay, healthy(shop, overlay), connect)
    assert [call[1:] for call in probed] == [(c.target, c.port) for c in shop.calls]
    assert len(violations) == 1
    assert violations[0].startswith("storefront-0 cannot reach cart-cache:6379 (drawing.yaml:")
    assert violations[0].endswith("Name or service not known")


def test_a_caller_without_a_ready_pod_is_named(shop: Drawing, overlay: str) -> None:
    state = with_pod(
        healthy(shop, overlay),
        "checkout-0",
        lambda p: p["status"]["conditions"][0].update(status="False"),
    )
    state = with_pod(
        state, "checkout-1", lambda p: p["status"]["conditions"][0].update(status="False")
    )
    violations = call_violations(shop, overlay, state, lambda _pod, _host, _port: None)
    assert violations == ["Deployment/checkout has no Ready pod to call from"]


def test_data_stores_are_probed_from_every_workload_without_a_call_to_them(
    shop: Drawing, overlay: str
) -> None:
    # arrange: a cluster that refuses everything, recording what is probed
    probed: set[tuple[str, str]] = set()

    def refused(pod: str, host: str, _port: int) -> str:
        probed.add((pod.rsplit("-", 1)[0], host))
        return "ConnectionRefusedError: [Errno 111] Connection refused"

    # act
    violations = isolation_violations(shop, overlay, healthy(shop, overlay), refused)

    # assert: the two stores, each from the two workloads that have no call to it
    assert violations == []
    assert probed == {
        ("storefront", "checkout-db"),
        ("cart-cache", "checkout-db"),
        ("checkout", "cart-cache"),
        ("checkout-db", "cart-cache"),
    }


def test_a_data_store_open_to_a_workload_without_a_call_is_caught(
    shop: Drawing, overlay: str
) -> None:
    def connect(pod: str, host: str, _port: int) -> str | None:
        opens = pod.startswith("storefront") and host == "checkout-db"
        return None if opens else "ConnectionRefusedError: [Errno 111] Connection refused"

    violations = isolation_violations(shop, overlay, healthy(shop, overlay), connect)
    assert len(violations) == 1
    assert violations[0].startswith("storefront-0 reaches checkout-db:5432, a data store")


# -- the plugin's live options ------------------------------------------------------------------


LIVE_TEST = """
def test_it(live_api):
    pass
"""


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_inprocess(
        "-p", "no:cacheprovider", "-W", "ignore::pytest.PytestAssertRewriteWarning", *args
    )


def test_an_overlay_the_drawing_lacks_stops_the_run(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_it=LIVE_TEST)
    result = run(pytester, f"--drawing={SHOP_DRAWING}", "--live-overlay=nowhere")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--live-overlay nowhere: drawing.yaml has no such overlay*"])


def test_a_kubeconfig_that_does_not_exist_stops_the_run(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_it=LIVE_TEST)
    result = run(pytester, f"--drawing={SHOP_DRAWING}", "--live-kubeconfig=/nonexistent/kubeconfig")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--live-kubeconfig /nonexistent/kubeconfig: no such file*"])


def test_a_live_test_without_a_cluster_fails_saying_so(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_it=LIVE_TEST)
    result = run(pytester, f"--drawing={SHOP_DRAWING}")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*no cluster to check: give --live-kubeconfig PATH*"])
