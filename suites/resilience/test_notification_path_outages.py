"""Outages on the notification path — notification-db, the queue — never cost an order: orders
are confirmed throughout, and each is notified exactly once when the outage ends.

Exactly-once notification is checked by the suite's invariants after each test
(suites/resilience/invariants.py), for every order created during the test.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from suites import promises
from suites.reporting.plugin import Timeline
from suites.resilience.live import (
    record,
    selector,
    wait_pods_gone,
    wait_replaced,
    wait_rolled_out,
)
from testbed.kube import Kube
from testbed.traffic import TrafficProbe, order_target
from testbed.waiting import NotYet, eventually

pytestmark = pytest.mark.cluster

ORDER_SKU = "SKU-CABLE"
RATE = 4.0
KILL_GRACE_SECONDS = 1
RECOVERY_TIMEOUT = 120.0
ORDERS_DURING_QUEUE_OUTAGE = 20


def test_while_notification_db_is_down_orders_are_confirmed_and_notified_once_it_is_back(
    kube: Kube, gateway_url: str, timeline: Timeline
) -> None:
    # arrange: notification-db ready, orders flowing
    database = "notification-db"
    wait_rolled_out(kube, database, kind="StatefulSet")
    (victim,) = kube.ready_pods(selector(database))

    with TrafficProbe(gateway_url, [order_target(ORDER_SKU)], rate=RATE, workers=4) as probe:
        # act: kill the database, wait for its replacement and a little traffic after it
        killed_at = probe.elapsed()
        kube.delete_pod(victim.metadata.name, grace_seconds=KILL_GRACE_SECONDS)

        wait_replaced(kube, database, victim.metadata.uid, RECOVERY_TIMEOUT)
        ready_at = probe.elapsed()

        def orders_after(since: float) -> None:
            if not any(o.status == 201 and o.at > since + 2 for o in probe.snapshot().outcomes):
                raise NotYet(probe.snapshot())

        eventually(lambda: orders_after(ready_at), timeout=30, what="orders after the recovery")

    # assert: every order was confirmed, outage or not (notifications: the invariants)
    summary = probe.summary()
    timeline.attach(summary, {f"{database} killed": killed_at, f"{database} Ready": ready_at})
    answers = [o.response for o in summary.outcomes if isinstance(o.response, dict)]
    statuses = {str(answer.get("status")) for answer in answers}
    print(f"\n{database} down for {ready_at - killed_at:.1f} s; orders: {summary}")
    record("notification_db_loss.traffic", str(summary))
    assert summary.failures == [], summary.timeline()
    assert statuses == {"confirmed"}, statuses


@pytest.fixture
def queue_back(kube: Kube) -> Iterator[str]:
    """The queue emulator's Deployment, back at its replicas whatever the test did."""
    name = "localstack"
    wait_rolled_out(kube, name)
    yield name
    kube.scale("Deployment", name, promises.workload(name).replicas)
    wait_rolled_out(kube, name)


def test_orders_placed_while_the_queue_is_down_are_confirmed_and_notified_once_it_is_back(
    kube: Kube, gateway_url: str, queue_back: str
) -> None:
    # arrange: the queue emulator gone (an in-memory emulator loses its queues with it)
    down = {p.metadata.name for p in kube.pods(selector(queue_back))}
    kube.scale("Deployment", queue_back, 0)
    wait_pods_gone(kube, down)

    # act: place orders while there is no queue, then bring it back
    with httpx.Client(base_url=gateway_url, timeout=10) as api:
        answers = [
            api.post(
                "/api/orders",
                json={"customer_email": "queue-outage@example.com",
                      "items": [{"sku": ORDER_SKU, "quantity": 1}]},
                headers={"Idempotency-Key": str(uuid.uuid4())},
            )
            for _ in range(ORDERS_DURING_QUEUE_OUTAGE)
        ]
    kube.scale("Deployment", queue_back, promises.workload(queue_back).replicas)
    wait_rolled_out(kube, queue_back)

    # assert: all accepted and confirmed during the outage (notifications: the invariants)
    assert [a.status_code for a in answers] == [201] * ORDERS_DURING_QUEUE_OUTAGE, [
        a.text for a in answers if a.status_code != 201
    ]
    assert {a.json()["status"] for a in answers} == {"confirmed"}
