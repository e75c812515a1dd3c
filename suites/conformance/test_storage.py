"""Persistent storage: data outlives its database pod (every claim Bound at its size is the
generic live suite's, in test_drawing_live.py).

The negative control rides along: a file the test leaves in the database pod's scratch space
(not on the claim) is gone after the pod is replaced, while the order on the claim is not."""

from __future__ import annotations

import uuid

import httpx
import pytest

from kubepromises.waiting import NotYet, eventually
from suites.listing_token import deployed_listing_token
from suites.resilience.live import ROLLOUT_TIMEOUT, selector, wait_replaced, wait_rolled_out
from system.common.listing_access import bearer
from testbed.cluster import Testbed
from testbed.kube import Kube

pytestmark = pytest.mark.cluster

#: Negative control: a file in the pod's scratch space (an emptyDir, not the claim).
SCRATCH_MARKER = "/tmp/demo-micro-not-on-the-claim"


def scratch_marker_present(testbed: Testbed, kube: Kube, pod: str) -> bool:
    out = testbed.kubectl(
        "exec", "-n", kube.namespace, pod, "--",
        "sh", "-c", f"test -e {SCRATCH_MARKER} && echo present || echo absent",
    )  # fmt: skip
    return out.strip().endswith("present")


def test_an_order_written_through_the_api_survives_deleting_the_order_database_pod(
    testbed: Testbed, kube: Kube, gateway_url: str
) -> None:
    with httpx.Client(base_url=gateway_url, timeout=10) as api:
        # arrange: one order written through the API
        order = api.post(
            "/api/orders",
            json={
                "customer_email": "storage@example.com",
                "items": [{"sku": "SKU-CABLE", "quantity": 1}],
            },
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
        assert order.status_code == 201, order.text
        order_id = order.json()["id"]
        (pod,) = kube.pods(selector("order-db"))
        # and a file beside the data, in the pod's scratch space (the negative control)
        testbed.kubectl(
            "exec", "-n", kube.namespace, pod.metadata.name, "--", "touch", SCRATCH_MARKER
        )
        assert scratch_marker_present(testbed, kube, pod.metadata.name)

        # act: delete the database pod; the StatefulSet brings it back on the same claim
        kube.delete_pod(pod.metadata.name)
        wait_pod_gone_or_replaced(kube, pod.metadata.uid)
        # (the StatefulSet's status may still count the old pod Ready: wait on the new one)
        wait_replaced(kube, "order-db", pod.metadata.uid, timeout=ROLLOUT_TIMEOUT)
        wait_rolled_out(kube, "order-db", kind="StatefulSet")

        # assert: the order reads back unchanged (read with the listing token, as it was placed:
        # its customer's e-mail in full)
        full_emails = bearer(deployed_listing_token(kube))

        def readable() -> httpx.Response:
            response = api.get(f"/api/orders/{order_id}", headers=full_emails)
            if response.status_code >= 500:  # order-service still reconnecting: a 503
                raise NotYet(f"{response.status_code}: {response.text}")
            assert response.status_code == 200, response.text  # a 404: the order was lost
            return response

        again = eventually(
            readable,
            timeout=60,
            what=f"order {order_id} readable again",
            hint="order-service reconnects to order-db by itself",
        )
        assert again.json() == order.json()
        # ... while what was not on the claim is gone: the pod really was a new one
        (replacement,) = kube.pods(selector("order-db"))
        assert not scratch_marker_present(testbed, kube, replacement.metadata.name)
        # ... and the old server shut down cleanly: the new one did no crash recovery
        started = kube.pod_log(replacement.metadata.name)
        assert "database system was shut down at" in started, started[:2000]
    # the order-service pods, whose readiness is their database, Ready again for the next test
    wait_rolled_out(kube, "order-service")
    # ... and serving every request at once: none is handed a pooled connection the old server
    # ended
    with httpx.Client(base_url=gateway_url, timeout=10) as api:
        statuses = [api.get(f"/api/orders/{order_id}").status_code for _ in range(READS_AFTER)]
    assert statuses == [200] * READS_AFTER, statuses


#: Reads after the restart: more than one order-service pool can hold (DB_POOL_SIZE 10).
READS_AFTER = 40


def wait_pod_gone_or_replaced(kube: Kube, uid: str) -> None:
    """A StatefulSet reuses the pod name, so wait on the uid."""

    def replaced() -> None:
        uids = {p.metadata.uid for p in kube.pods(selector("order-db"))}
        if uid in uids:
            raise NotYet("the old pod still exists")

    eventually(replaced, timeout=90, what="the old order-db pod gone", hint="see its events")
