"""Promise: every confirmed order gets exactly one notification, also when the queue
delivers duplicates, when the queue was down while the orders were placed, and when a restarted
queue lost events it held."""

import json
from collections.abc import Iterator

import httpx
import pytest

from suites.system.stack import (
    QUEUE_NAME,
    Stack,
    new_product,
    notifications_for,
    order_body,
    post_concurrently,
    queue_is_drained,
    unsent_outbox_events,
)
from suites.waiting import eventually


def _place_orders(gateway_url: str, inventory_url: str, count: int) -> list[str]:
    sku = new_product(inventory_url, 1000)
    responses = post_concurrently(
        f"{gateway_url}/api/orders", [order_body((sku, 1)) for _ in range(count)]
    )
    orders = [r.json() for r in responses]
    assert all(o["status"] == "confirmed" for o in orders), orders
    return [o["id"] for o in orders]


def _each_has_exactly_one(gateway_url: str, order_ids: list[str]) -> dict[str, int]:
    counts = {oid: len(notifications_for(gateway_url, oid)) for oid in order_ids}
    assert all(n <= 1 for n in counts.values()), f"duplicate notifications: {counts}"
    return counts


def test_every_confirmed_order_gets_exactly_one_notification(
    gateway_url: str, inventory_url: str
) -> None:
    # arrange / act
    order_ids = _place_orders(gateway_url, inventory_url, 20)

    # assert
    eventually(
        lambda: all(n == 1 for n in _each_has_exactly_one(gateway_url, order_ids).values()),
        timeout=20,
        interval=0.2,
        what="one notification for each of 20 confirmed orders",
    )


def test_a_notification_is_not_duplicated_when_the_queue_delivers_an_event_again(
    stack: Stack, gateway_url: str, inventory_url: str
) -> None:
    # arrange: an order whose notification has arrived, and the exact event that was sent
    (order_id,) = _place_orders(gateway_url, inventory_url, 1)
    eventually(
        lambda: len(notifications_for(gateway_url, order_id)) == 1,
        timeout=20,
        what="the first notification",
    )
    with stack.infra.db("orders") as conn:
        row = conn.execute(
            "SELECT payload FROM outbox WHERE payload->'order'->>'id' = %s", (order_id,)
        ).fetchone()
    assert row is not None
    event = json.dumps(row[0])
    sqs = stack.infra.sqs_client()
    queue_url = sqs.get_queue_url(QueueName=QUEUE_NAME)["QueueUrl"]

    # act: the same event delivered twice more, back to back
    sqs.send_message(QueueUrl=queue_url, MessageBody=event)
    sqs.send_message(QueueUrl=queue_url, MessageBody=event)

    # assert: both duplicates were consumed (deleted), and still one notification
    eventually(
        lambda: queue_is_drained(stack.infra),
        timeout=20,
        what="the duplicate deliveries to be consumed and deleted",
    )
    assert len(notifications_for(gateway_url, order_id)) == 1


@pytest.fixture
def queue_outage(stack: Stack) -> Iterator[None]:
    """Stops the SQS emulator (losing its queues, as a restart does); restarts it afterwards."""
    stack.infra.sqs.stop()
    try:
        yield
    finally:
        if stack.infra.sqs.proc is None:
            stack.infra.sqs.start()


def test_orders_placed_while_the_queue_is_down_are_all_notified_once_it_returns(
    stack: Stack, gateway_url: str, inventory_url: str, queue_outage: None
) -> None:
    # arrange: the queue is down (fixture)
    # act: orders are accepted meanwhile
    order_ids = _place_orders(gateway_url, inventory_url, 10)
    assert unsent_outbox_events(stack.infra) >= 10, "events should wait in the outbox"
    assert all(len(notifications_for(gateway_url, oid)) == 0 for oid in order_ids)
    stack.infra.sqs.start()

    # assert: every order is notified exactly once after the queue is back
    eventually(
        lambda: all(n == 1 for n in _each_has_exactly_one(gateway_url, order_ids).values()),
        timeout=30,
        interval=0.3,
        what="one notification per order placed during the queue outage",
        hint="order-service's relay and notification-service's consumer must re-create the "
        "queue and retry",
    )
    assert unsent_outbox_events(stack.infra) == 0
    # The gateway never failed meanwhile: it does not touch the queue.
    assert httpx.get(f"{gateway_url}/readyz", timeout=5).status_code == 200


@pytest.fixture
def consumer_down(stack: Stack) -> Iterator[None]:
    """notification-service stopped (events wait in the queue); started again afterwards."""
    stack.notifications.process.stop()
    try:
        yield
    finally:
        if stack.notifications.process.proc is None:
            stack.notifications.process.start()


def _undelivered_events(stack: Stack, order_ids: list[str]) -> int:
    with stack.infra.db("orders") as conn:
        row = conn.execute(
            "SELECT count(*) FROM outbox "
            "WHERE payload->'order'->>'id' = ANY(%s) AND delivered_at IS NULL",
            (order_ids,),
        ).fetchone()
    assert row is not None
    return int(row[0])


def test_events_lost_with_a_restarted_queue_are_sent_again_and_notified_once(
    stack: Stack, gateway_url: str, inventory_url: str, consumer_down: None
) -> None:
    # arrange: orders whose events SQS accepted, sitting in the queue (nobody consumes)
    order_ids = _place_orders(gateway_url, inventory_url, 10)
    eventually(
        lambda: unsent_outbox_events(stack.infra) == 0,
        timeout=20,
        what="the 10 events accepted by the queue",
    )

    # act: the queue restarts and loses them (the emulator, like LocalStack by default, keeps
    # nothing), then the consumer comes back
    stack.infra.sqs.stop()
    stack.infra.sqs.start()
    stack.notifications.process.start()

    # assert: order-service's delivery check sent them again; one notification each
    eventually(
        lambda: all(n == 1 for n in _each_has_exactly_one(gateway_url, order_ids).values()),
        timeout=60,
        interval=0.5,
        what="one notification per order whose event the queue lost",
        hint="order-service's delivery check resends events notification-service never got",
    )
    eventually(
        lambda: _undelivered_events(stack, order_ids) == 0,
        timeout=30,
        what="every event settled as delivered by the delivery check",
    )
