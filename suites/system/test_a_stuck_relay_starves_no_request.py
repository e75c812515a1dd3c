"""An outbox relay stuck on SQS takes no database connection from the requests.

Seen live (docs/live-suites.md, "Faults"): while order-service got no DNS answers, its relay
waited on SQS (a lookup of the queue's host blocks ~40 s) holding a pooled connection, the pool
could not open new ones (they need a lookup too), and order reads answered 503 PoolTimeout.
Here SQS is a listener that accepts connections and never answers, and the requests' pool has
one connection: an order wakes the relay, which waits on SQS; the order reads that follow must
be served.
"""

import time

import httpx

from suites.system.stack import Stack, new_product, order_body

#: Order reads while the relay waits (botocore's read timeout is 5 s, and it retries).
READS = 5


def test_order_reads_are_served_while_the_relay_waits_on_an_sqs_that_never_answers(
    stack: Stack, silent_sqs: str
) -> None:
    # arrange: an order-service whose requests' pool holds one connection, and whose SQS never
    # answers
    orders = stack.start_extra(
        "order_service", stack.orders, {"DB_POOL_SIZE": "1", "AWS_ENDPOINT_URL": silent_sqs}
    )
    sku = new_product(stack.inventory.url, stock=10)
    with httpx.Client(base_url=orders.url, timeout=10) as api:
        # act: an order (its event wakes the relay, which then waits on SQS), then reads
        placed = api.post("/orders", json=order_body((sku, 1)))
        assert placed.status_code == 201, placed.text
        time.sleep(0.5)  # the relay has taken its connection and is waiting on SQS
        statuses = [api.get("/orders", params={"limit": 1}).status_code for _ in range(READS)]

    # assert: every read served
    assert statuses == [200] * READS, statuses
