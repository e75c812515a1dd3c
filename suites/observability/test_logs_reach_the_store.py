"""Logs reach the store: every hop of a request, findable by its request id, soon and all of them.

Runs against the testbed (`--cluster`); the store is reached through a port-forward, or
through Kibana's API where the overlay deploys Kibana (see conftest.py). Figures go to
reports/measurements.json under `logs.*`.
"""

from __future__ import annotations

import statistics
import time
import uuid
from typing import Any

import httpx
import pytest
from kubernetes import client

from kubepromises.waiting import NotYet, eventually
from suites import promises
from suites.observability.store import SHIPPER, LogStore, shipper_pods_ready
from suites.resilience.live import record, selector
from testbed.kube import Kube
from testbed.settings import service_image

pytestmark = pytest.mark.cluster

#: An order touches every service: the gateway, order (and its database), inventory (stock
#: reservation), and notification (the order event through the queue).
EVERY_HOP = frozenset(service.name for service in promises.SERVICES)
REQUIRED_FIELDS = ("service", "level", "version", "request_id", "message")

#: Issue 6's goal for written → searchable (stretch goal 5 s).
LATENCY_GOAL_P95_SECONDS = 15.0
LATENCY_SAMPLES = 20
MARKERS = 1000
#: OpenSearch takes ~30 s to be ready on an idle machine; a busy kind node takes longer.
STORE_START_TIMEOUT = 300.0


def request_id(purpose: str) -> str:
    return f"obs-{purpose}-{uuid.uuid4().hex[:12]}"


def place_order(api: httpx.Client, rid: str) -> dict[str, Any]:
    """One unit of a product in stock, ordered with the given X-Request-ID."""
    products = api.get("/api/inventory/products").raise_for_status().json()
    items = products["items"] if isinstance(products, dict) else products
    product = next(p for p in items if p["stock"] > 0)
    order = api.post(
        "/api/orders",
        json={
            "customer_email": "observability@example.com",
            "items": [{"sku": product["sku"], "quantity": 1}],
        },
        headers={"X-Request-ID": rid, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert order.status_code == 201, order.text
    assert order.headers.get("X-Request-ID") == rid
    created: dict[str, Any] = order.json()
    return created


def test_every_hop_of_an_order_logs_to_the_store_under_its_request_id(
    log_store: LogStore, gateway_url: str
) -> None:
    # arrange
    rid = request_id("order")

    # act
    with httpx.Client(base_url=gateway_url, timeout=10) as api:
        place_order(api, rid)

    # assert: documents from all four services, each with the structured fields
    def every_hop() -> list[dict[str, Any]]:
        documents = log_store.documents("request_id", rid)
        seen = {d.get("service") for d in documents}
        if not seen >= EVERY_HOP:
            raise NotYet(f"services seen so far: {sorted(map(str, seen))}")
        return documents

    documents = eventually(
        every_hop,
        timeout=60,
        interval=1,
        what=f"log documents with request_id {rid} from {sorted(EVERY_HOP)}",
        hint="kubectl -n demo-micro logs daemonset/log-shipper; the services' own pod logs",
    )
    for document in documents:
        missing = [field for field in REQUIRED_FIELDS if not document.get(field)]
        assert not missing, f"{document} lacks {missing}"
        assert document["request_id"] == rid
        assert document["level"] in {"debug", "info", "warning", "error", "critical"}
        assert document["kubernetes"]["namespace"] == promises.NAMESPACE


def test_a_request_id_never_sent_is_not_found(log_store: LogStore, gateway_url: str) -> None:
    # arrange: a request that is found proves the store and the shipper work right now
    sent, never_sent = request_id("sent"), request_id("never-sent")
    httpx.get(f"{gateway_url}/api/inventory/products", headers={"X-Request-ID": sent}, timeout=10)
    eventually(
        lambda: log_store.documents("request_id", sent) or _not_yet(sent),
        timeout=60,
        interval=1,
        what=f"the control request {sent} in the store",
    )

    # act / assert
    assert log_store.count({"term": {"request_id.keyword": never_sent}}) == 0
    assert log_store.count({"match_phrase": {"message": never_sent}}) == 0


def test_every_request_becomes_searchable_and_the_latency_is_measured(
    log_store: LogStore, gateway_url: str
) -> None:
    # act: one request at a time; from its answer until the gateway's line is found
    latencies = []
    with httpx.Client(base_url=gateway_url, timeout=10) as api:
        for _ in range(LATENCY_SAMPLES):
            rid = request_id("latency")
            response = api.get("/api/inventory/products", headers={"X-Request-ID": rid})
            answered = time.monotonic()
            assert response.status_code == 200, response.text
            query = {
                "bool": {
                    "filter": [
                        {"term": {"request_id.keyword": rid}},
                        {"term": {"service.keyword": "api-gateway"}},
                    ]
                }
            }

            def logged(q: dict[str, Any] = query, r: str = rid) -> bool:
                return log_store.count(q) > 0 or _not_yet(r)

            eventually(
                logged,
                timeout=60,
                interval=0.2,
                what=f"the gateway's log line for {rid}",
            )
            latencies.append(time.monotonic() - answered)

    # assert
    p95 = statistics.quantiles(latencies, n=20, method="inclusive")[-1]
    record("logs.latency_seconds.p50", round(statistics.median(latencies), 2))
    record("logs.latency_seconds.p95", round(p95, 2))
    record("logs.latency_seconds.max", round(max(latencies), 2))
    record("logs.latency_seconds.samples", len(latencies))
    # The goal (p95 <= LATENCY_GOAL_P95_SECONDS) is a figure for the report, not an assertion:
    # timing on a shared 2-core machine would make it flaky; the bounded wait above is the
    # promise (every request searchable).
    print(
        f"\nrequest -> searchable: p50 {statistics.median(latencies):.2f} s, p95 {p95:.2f} s "
        f"(goal {LATENCY_GOAL_P95_SECONDS} s), max {max(latencies):.2f} s"
    )


def test_a_thousand_marker_lines_all_arrive_across_a_shipper_restart(
    log_store: LogStore, kube: Kube
) -> None:
    # arrange: a pod of our namespace that prints MARKERS unique JSON lines over ~20 s
    run = uuid.uuid4().hex[:12]
    name = f"log-markers-{run}"
    kube.core.create_namespaced_pod(kube.namespace, marker_pod(name, run))
    try:
        node = eventually(
            lambda: _running_on(kube, name),
            timeout=120,
            interval=1,
            what=f"marker pod {name} running",
        )

        # act: while it prints, delete the shipper pod of its node; the DaemonSet replaces it
        time.sleep(5)
        (shipper,) = [
            pod
            for pod in kube.pods(selector(SHIPPER))
            if pod.spec.node_name == node and not pod.metadata.deletion_timestamp
        ]
        kube.delete_pod(shipper.metadata.name)

        def replaced() -> None:
            if shipper.metadata.name in _names(kube):
                raise NotYet(f"{shipper.metadata.name} still there")
            shipper_pods_ready(kube)

        eventually(
            replaced,
            timeout=120,
            interval=1,
            what="the log-shipper pod replaced and ready",
        )

        # assert: every marker arrives, once
        query = {"term": {"marker_run.keyword": run}}

        def all_markers() -> int:
            found = log_store.distinct(query, "marker")
            if found < MARKERS:
                raise NotYet(f"{found} of {MARKERS} markers")
            return found

        distinct = eventually(
            all_markers,
            timeout=180,
            interval=2,
            what=f"{MARKERS} marker lines of run {run} in the store",
            hint="the shipper keeps read positions in /var/lib/demo-micro/log-shipper on the node",
        )
        documents = log_store.count(query)
        record("logs.completeness.sent", MARKERS)
        record("logs.completeness.found", distinct)
        record("logs.completeness.documents", documents)
        assert distinct == MARKERS
        assert documents == MARKERS, f"{documents} documents for {MARKERS} markers: duplicates"
    finally:
        kube.delete_pod(name, grace_seconds=0)


def test_services_keep_serving_while_the_store_is_down_and_shipping_catches_up(
    log_store: LogStore, kube: Kube, gateway_url: str
) -> None:
    # arrange
    rids = [request_id("outage") for _ in range(20)]
    kube.scale("StatefulSet", "elasticsearch", 0)
    try:
        eventually(
            lambda: not kube.pods(selector("elasticsearch")) or _not_yet("store pod still there"),
            timeout=120,
            interval=1,
            what="the elasticsearch pod gone",
        )

        # act: requests while the store is down
        with httpx.Client(base_url=gateway_url, timeout=10) as api:
            statuses = [
                api.get("/api/inventory/products", headers={"X-Request-ID": rid}).status_code
                for rid in rids
            ]
        gateway_logs = "".join(
            kube.pod_log(pod.metadata.name, since_seconds=300)
            for pod in kube.pods(selector("api-gateway"))
        )
    finally:
        kube.scale("StatefulSet", "elasticsearch", 1)
    eventually(
        lambda: kube.workload("StatefulSet", "elasticsearch").rolled_out or _not_yet("starting"),
        timeout=STORE_START_TIMEOUT,
        interval=2,
        what="the log store back and ready",
        hint="kubectl -n demo-micro describe statefulset elasticsearch; the pod's log",
    )
    log_store.reopen()

    # assert: served and logged to stdout meanwhile; every line shipped once the store is back
    assert statuses == [200] * len(rids), statuses
    assert all(rid in gateway_logs for rid in rids)

    def all_shipped() -> None:
        missing = [r for r in rids if not log_store.count({"term": {"request_id.keyword": r}})]
        if missing:
            raise NotYet(f"{len(missing)} of {len(rids)} not in the store yet")

    eventually(
        all_shipped,
        timeout=180,
        interval=2,
        what="the lines logged while the store was down, shipped after it returned",
        hint="rsyslog retries for ever (action.resumeRetryCount=-1); see its pod logs",
    )


def marker_pod(name: str, run: str) -> client.V1Pod:
    """A pod on one of our images that prints MARKERS JSON lines like our services' and exits."""
    script = (
        "import json, sys, time\n"
        f"for n in range({MARKERS}):\n"
        "    print(json.dumps({'service': 'log-markers', 'version': '0', 'level': 'info',\n"
        f"        'request_id': '{run}-' + str(n), 'message': 'marker ' + str(n),\n"
        f"        'marker': n, 'marker_run': '{run}'}}), flush=True)\n"
        "    time.sleep(0.02)\n"
    )
    image = service_image("api-gateway", promises.SERVICE_IMAGE_TAG)  # any overlay
    security = client.V1SecurityContext(
        allow_privilege_escalation=False,
        read_only_root_filesystem=True,
        capabilities=client.V1Capabilities(drop=["ALL"]),
    )
    return client.V1Pod(
        metadata=client.V1ObjectMeta(
            name=name,
            labels={promises.APP_LABEL: "log-markers", promises.PART_OF_LABEL: promises.NAMESPACE},
        ),
        spec=client.V1PodSpec(
            restart_policy="Never",
            automount_service_account_token=False,
            security_context=client.V1PodSecurityContext(
                run_as_non_root=True,
                run_as_user=10001,
                seccomp_profile=client.V1SeccompProfile(type="RuntimeDefault"),
            ),
            containers=[
                client.V1Container(
                    name="markers",
                    image=image,
                    image_pull_policy="IfNotPresent",
                    command=["python", "-c", script],
                    security_context=security,
                    resources=client.V1ResourceRequirements(
                        requests={"cpu": "10m", "memory": "32Mi"},
                        limits={"cpu": "200m", "memory": "64Mi"},
                    ),
                )
            ],
        ),
    )


def _running_on(kube: Kube, name: str) -> str:
    pod = kube.pod(name)
    if pod.status.phase not in {"Running", "Succeeded"} or not pod.spec.node_name:
        raise NotYet(f"{name}: {pod.status.phase}")
    node: str = pod.spec.node_name
    return node


def _names(kube: Kube) -> set[str]:
    return {pod.metadata.name for pod in kube.pods(selector(SHIPPER))}


def _not_yet(observed: object) -> bool:
    raise NotYet(observed)
