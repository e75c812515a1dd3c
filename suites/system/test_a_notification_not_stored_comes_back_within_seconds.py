"""An event whose notification could not be stored (notification-db down) is notified within
seconds of the store's return, not after the queue's visibility timeout.

notification-service hands such a message back to the queue for a retry in 1, 2, 4, at most 8 s
(system/notification_service/consumer.py). Before 7 Dec 2026 it left it invisible for the
queue's visibility timeout (30 s), so a notification-db outage of seconds delayed notifications
by up to half a minute after it; on the testbed the invariants after the notification-db test
waited 24.5 s for them.

The negative control is in the test: an event left the way the consumer used to leave one it
could not store, invisible for the visibility timeout from its last failed receive (just before
the store came back), fails the same bound.
"""

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from suites.system import servers
from suites.system.stack import Stack
from suites.waiting import eventually
from system.notification_service.consumer import retry_in

#: A database of its own: the notifications found were stored by this test's service.
DATABASE = "retried-notifications"
#: The queue's visibility timeout (the drawing's queue keeps SQS's default).
VISIBILITY_TIMEOUT_SECONDS = 30
#: From the store's start to the notification: the store's start-up, the retry (at most 8 s),
#: the next long poll. Far below the visibility timeout.
BOUND_SECONDS = 12.0


@pytest.fixture
def queue(stack: Stack) -> Iterator[str]:
    """A queue of its own (the stack's consumer would take the events), deleted at the end."""
    sqs = stack.infra.sqs_client()
    name = f"retry-{uuid.uuid4().hex[:8]}"
    url = sqs.create_queue(
        QueueName=name, Attributes={"VisibilityTimeout": str(VISIBILITY_TIMEOUT_SECONDS)}
    )["QueueUrl"]
    yield name
    sqs.delete_queue(QueueUrl=url)


def order_created() -> tuple[str, str]:
    """(order id, an OrderCreated event's body) for a new order."""
    order_id = str(uuid.uuid4())
    event = {
        "event_id": str(uuid.uuid4()),
        "event_type": "OrderCreated",
        "order": {"id": order_id, "status": "confirmed", "customer_email": "retry@example.com"},
    }
    return order_id, json.dumps(event)


def notified(url: str, order_id: str) -> bool:
    answer = httpx.get(f"{url}/notifications", params={"order_id": order_id}, timeout=5)
    if answer.status_code != 200:
        return False
    found: list[dict[str, Any]] = answer.json()
    return len(found) == 1


def failed_to_store(service: servers.ManagedProcess) -> bool:
    log = service.log_tail()
    return "storing notification failed" in log or "ensuring the unique index failed" in log


def test_a_notification_that_could_not_be_stored_arrives_within_seconds_of_the_stores_return(
    stack: Stack,
    tmp_path: Path,
    queue: str,
    mongodb_not_started: tuple[servers.ManagedProcess, int],
) -> None:
    mongo, port = mongodb_not_started
    sqs = stack.infra.sqs_client()
    queue_url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]

    # arrange 1 (the control's event): taken off the queue by the test for now
    held, body = order_created()
    sqs.send_message(QueueUrl=queue_url, MessageBody=body)
    (taken,) = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=5, VisibilityTimeout=300)[
        "Messages"
    ]

    # arrange 2: the event under test, and a notification-service of its own on that queue,
    # whose store does not answer yet
    retried, body = order_created()
    sqs.send_message(QueueUrl=queue_url, MessageBody=body)
    env = {
        **stack.notifications.env,
        "MONGODB_PORT": str(port),
        "MONGODB_DATABASE": DATABASE,
        "SQS_QUEUE_NAME": queue,
    }
    service, url = servers.service(tmp_path, "notification_service", env)
    service.spawn()
    try:
        eventually(
            lambda: failed_to_store(service),
            timeout=30,
            interval=0.5,
            what="notification-service failing to store the event",
        )

        # act: the store starts; the control's event is left as the consumer used to leave one
        # whose last receive failed just now: invisible for the visibility timeout
        mongo.start()
        started = time.monotonic()
        sqs.change_message_visibility(
            QueueUrl=queue_url,
            ReceiptHandle=taken["ReceiptHandle"],
            VisibilityTimeout=VISIBILITY_TIMEOUT_SECONDS,
        )

        # assert: the event under test is notified within the bound
        eventually(
            lambda: notified(url, retried),
            timeout=BOUND_SECONDS,
            interval=0.5,
            what=f"the notification of {retried} within {BOUND_SECONDS:g} s of the store's start",
            hint="is the message handed back for a retry (consumer.py, retry_in)?",
        )
        took = time.monotonic() - started
        print(f"\nnotified {took:.1f} s after the store started")

        # assert (the control): the event left as before is not notified by the same bound
        time.sleep(max(0.0, started + BOUND_SECONDS - time.monotonic()))  # the bound's end
        assert not notified(url, held), (
            f"the event left for the visibility timeout ({VISIBILITY_TIMEOUT_SECONDS} s) was "
            f"notified within {BOUND_SECONDS:g} s: the bound cannot tell a retry from it"
        )
    finally:
        service.stop()


def test_a_message_received_more_often_comes_back_later_up_to_8_seconds() -> None:
    # a receive count is at least 1; a million failed receives (a message that can never be
    # stored) still come back every 8 s, not at a growing interval
    assert [retry_in(count) for count in (1, 2, 3, 4, 5, 1_000_000)] == [1, 2, 4, 8, 8, 8]
