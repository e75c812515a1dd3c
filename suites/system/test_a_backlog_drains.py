"""Promise: the notification pipeline drains after a burst; a consumer that falls behind is not
sent the events it has not read yet a second time.

An event without a notification is re-sent only when the queue is empty (the delivery check):
resending on age alone fed a slow consumer more work the further it fell behind, and the
backlog never drained (seen on the live testbed: 973 unsent events, 286 confirmed orders
without a notification five minutes after a burst).
"""

import time
from collections.abc import Iterator
from urllib.parse import urlparse

import pytest

from suites.system import servers
from suites.system.stack import (
    Stack,
    new_product,
    notifications_for,
    order_body,
    post_concurrently,
    queue_is_drained,
)
from suites.waiting import eventually

ORDERS = 30
#: How long the consumer stays behind: three resend delays of the local stack.
BEHIND_FOR = "3 * RESEND_UNDELIVERED_AFTER_SECONDS"


class ConsumerBehind:
    """notification-service's API answers (no notifications yet) while nothing consumes the
    queue: a consumer that fell behind, until `catch_up()` brings the real one back."""

    def __init__(self, stack: Stack) -> None:
        self._stack = stack
        self._api_only, _ = servers.service(
            stack.infra.workdir,
            "notification_service",
            {**stack.notifications.env, "SQS_QUEUE_NAME": "nobody-sends-here"},
            port=urlparse(stack.notifications.url).port,
        )
        stack.notifications.process.stop()
        self._api_only.start()

    def catch_up(self) -> None:
        if self._api_only.proc is not None:
            self._api_only.stop()
            self._stack.notifications.process.start()


@pytest.fixture
def consumer_behind(stack: Stack) -> Iterator[ConsumerBehind]:
    behind = ConsumerBehind(stack)
    try:
        yield behind
    finally:
        behind.catch_up()


def _sent_long_ago(stack: Stack, order_ids: list[str], seconds: float) -> int:
    """How many of these orders' events were sent, and not sent again, `seconds` ago or more."""
    with stack.infra.db("orders") as conn:
        row = conn.execute(
            """
            SELECT count(*) FROM outbox WHERE payload->'order'->>'id' = ANY(%s)
              AND sent_at < now() - make_interval(secs => %s)
            """,
            (order_ids, seconds),
        ).fetchone()
    assert row is not None
    return int(row[0])


def test_a_slow_consumer_is_not_sent_events_again_and_the_backlog_drains(
    stack: Stack, consumer_behind: ConsumerBehind, gateway_url: str, inventory_url: str
) -> None:
    # arrange: a burst of orders while the consumer is behind
    resend_after = float(stack.orders.env["RESEND_UNDELIVERED_AFTER_SECONDS"])
    sku = new_product(inventory_url, ORDERS)
    responses = post_concurrently(
        f"{gateway_url}/api/orders", [order_body((sku, 1)) for _ in range(ORDERS)]
    )
    order_ids = [r.json()["id"] for r in responses]

    # act / assert: three resend delays pass, and every event is still the one sent first
    # (a resend would set it unsent, then sent anew, so it would never be this old)
    eventually(
        lambda: _sent_long_ago(stack, order_ids, 3 * resend_after) == ORDERS,
        timeout=3 * resend_after + 20,
        interval=0.5,
        what=f"the {ORDERS} events sent once, {BEHIND_FOR} ago, and never again",
        hint="an event re-sent while the consumer was behind keeps its sent_at young",
    )

    # act: the consumer catches up
    consumer_behind.catch_up()
    started = time.monotonic()

    # assert: every order gets its one notification and the queue empties
    eventually(
        lambda: all(len(notifications_for(gateway_url, oid)) == 1 for oid in order_ids),
        timeout=60,
        interval=0.5,
        what=f"one notification for each of {ORDERS} orders",
    )
    eventually(lambda: queue_is_drained(stack.infra), timeout=60, what="an empty queue")
    drained_in = time.monotonic() - started
    assert drained_in < 60, drained_in
