"""Outages on the notification path — notification-db, the queue — never cost an order: orders
are confirmed throughout, and each is notified exactly once when the outage ends. That holds
even for events a restarting queue held and lost: order-service sends them again.

Exactly-once notification is checked by the suite's invariants after each test
(suites/resilience/invariants.py), for every order created during the test.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from kubepromises.waiting import NotYet, eventually
from suites import promises
from suites.reporting.plugin import Timeline
from suites.resilience import invariants
from suites.resilience.live import (
    record,
    selector,
    wait_pods_gone,
    wait_replaced,
    wait_rolled_out,
)
from testbed.cluster import Testbed
from testbed.kube import Kube
from testbed.traffic import TrafficProbe, order_target

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


def back_at_its_replicas(kube: Kube, name: str) -> Iterator[str]:
    """A Deployment rolled out before the test and put back at its replicas after it."""
    wait_rolled_out(kube, name)
    yield name
    kube.scale("Deployment", name, promises.workload(name).replicas)
    wait_rolled_out(kube, name)


@pytest.fixture
def queue_back(kube: Kube) -> Iterator[str]:
    """The queue emulator, back at its replicas whatever the test did."""
    yield from back_at_its_replicas(kube, "localstack")


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
                json={
                    "customer_email": "queue-outage@example.com",
                    "items": [{"sku": ORDER_SKU, "quantity": 1}],
                },
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


@pytest.fixture
def consumer_back(kube: Kube) -> Iterator[str]:
    """notification-service, back at its replicas whatever the test did."""
    yield from back_at_its_replicas(kube, "notification-service")


#: Orders whose events must be sitting in the queue when it restarts.
ORDERS_IN_THE_QUEUE = 10
RESENT_MESSAGE = "events sent but never notified: sending them again"


def resent_events(testbed: Testbed, kube: Kube, since_seconds: int) -> int:
    """How many events order-service's delivery check sent again (its JSON log lines say)."""
    logs = testbed.kubectl(
        "logs", "-n", kube.namespace, "-l", selector("order-service"),
        f"--since={since_seconds}s", "--tail=-1",
    )  # fmt: skip
    resent = 0
    for line in logs.splitlines():
        if RESENT_MESSAGE in line:
            resent += int(json.loads(line)["count"])
    return resent


def test_events_held_by_a_queue_that_restarts_are_still_notified_exactly_once(
    testbed: Testbed,
    kube: Kube,
    gateway_url: str,
    queue_back: str,
    consumer_back: str,
) -> None:
    # arrange: no consumer, so the events of the orders placed now stay in the queue
    consumers = {p.metadata.name for p in kube.pods(selector(consumer_back))}
    kube.scale("Deployment", consumer_back, 0)
    wait_pods_gone(kube, consumers)
    started = time.monotonic()

    with TrafficProbe(gateway_url, [order_target(ORDER_SKU)], rate=RATE, workers=4) as probe:
        eventually(
            lambda: _acknowledged(probe, ORDERS_IN_THE_QUEUE),
            timeout=60,
            what=f"{ORDERS_IN_THE_QUEUE} orders acknowledged while nobody consumes the queue",
        )
    summary = probe.summary()
    held = _acknowledged(probe, 0)
    eventually(
        lambda: _none_unsent(testbed, kube),
        timeout=30,
        what="every event handed to the queue by order-service's relay",
    )

    # act: the queue restarts, losing what it held (in memory, like LocalStack by default)
    (victim,) = kube.ready_pods(selector(queue_back))
    kube.delete_pod(victim.metadata.name, grace_seconds=KILL_GRACE_SECONDS)
    wait_replaced(kube, queue_back, victim.metadata.uid, RECOVERY_TIMEOUT)
    kube.scale("Deployment", consumer_back, promises.workload(consumer_back).replicas)
    wait_rolled_out(kube, consumer_back)

    # assert: orders were confirmed, and order-service noticed the lost events and sent them
    # again (exactly one notification each: the invariants, after the test)
    assert summary.failures == [], summary.timeline()
    since = int(time.monotonic() - started) + 60
    resent = eventually(
        lambda: _at_least(resent_events(testbed, kube, since), held),
        timeout=120,
        interval=5,
        what=f"order-service's delivery check resending the {held} events the queue lost",
        hint="RESEND_UNDELIVERED_AFTER_SECONDS (30) after an event was sent, then a check",
    )
    print(f"\nqueue restarted holding {held} orders' events; {resent} events sent again")
    record("queue_restart.resent", f"{resent} of {held} lost events sent again")


def _none_unsent(testbed: Testbed, kube: Kube) -> None:
    sql = "SELECT count(*) FROM outbox WHERE sent_at IS NULL"
    ((count,),) = invariants.psql(testbed, kube, "order-db", "orders", sql)
    if int(count):
        raise NotYet(f"{count} events not yet sent")


def _acknowledged(probe: TrafficProbe, at_least: int) -> int:
    count = sum(1 for o in probe.snapshot().outcomes if o.status == 201)
    if count < at_least:
        raise NotYet(f"{count} orders acknowledged")
    return count


def _at_least(value: int, wanted: int) -> int:
    if value < wanted:
        raise NotYet(f"{value} of {wanted}")
    return value
