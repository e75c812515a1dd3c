"""Shopper: places orders with an Idempotency-Key, reads them back, retries one now and then,
and later checks that the order's one notification arrived.

    python -m locust -f scenarios/shopper.py --headless -u 5 -r 5 --run-time 30s

Out of stock is not an error: order-service answers 201 with status "rejected" and a reason
(its contract), so both confirmed and rejected orders are correct answers.
"""

from __future__ import annotations

import random
import time
import uuid
from collections import deque
from dataclasses import dataclass
from typing import Any

from locust import between, task

from scenarios.common import Customer, json_of, pick_sku, read_catalogue

#: How long a confirmed order's notification may take (outbox relay, queue, consumer).
NOTIFICATION_DEADLINE_SECONDS = 30.0
#: A notification is not looked for before this: it goes through the queue.
NOTIFICATION_FIRST_LOOK_SECONDS = 1.0

ORDER_STATUSES = ("confirmed", "rejected")


@dataclass
class Placed:
    """An order this shopper placed, and what is needed to retry it or check on it."""

    id: str
    key: str
    body: dict[str, Any]
    status: str
    at: float


class Shopper(Customer):
    """Looks at the catalogue, orders one or two products, follows the order up."""

    wait_time = between(1.0, 3.0)
    products: list[dict[str, Any]]
    placed: list[Placed]
    awaiting_notification: deque[Placed]

    def on_start(self) -> None:
        super().on_start()
        self.email = f"shopper-{uuid.uuid4().hex[:12]}@example.com"
        self.products = []
        self.placed = []
        self.awaiting_notification = deque()

    @task(2)
    def catalogue(self) -> None:
        self.products = read_catalogue(self) or self.products

    @task(3)
    def place_order(self) -> None:
        if not self.products:
            self.catalogue()
            return
        skus = {pick_sku(self.products) for _ in range(random.choice((1, 1, 2)))}
        body = {
            "customer_email": self.email,
            "items": [{"sku": sku, "quantity": random.choice((1, 1, 2))} for sku in sorted(skus)],
        }
        key = f"locust-{uuid.uuid4()}"
        order = self._post_order(body, key, name="/api/orders")
        if order is None:
            return
        placed = Placed(order["id"], key, body, order["status"], time.monotonic())
        self.placed.append(placed)
        self._read_back(placed)
        if placed.status == "confirmed":
            self.awaiting_notification.append(placed)

    @task(1)
    def retry_an_order(self) -> None:
        """The same POST again, as a client does after a lost answer: the same order back."""
        if not self.placed:
            return
        placed = random.choice(self.placed)
        with self.client.post(
            "/api/orders",
            json=placed.body,
            headers={"Idempotency-Key": placed.key},
            name="/api/orders [retry, same key]",
            catch_response=True,
        ) as response:
            order = json_of(response, 201)
            if order is None:
                return
            if (order.get("id"), order.get("status")) != (placed.id, placed.status):
                response.failure(f"retry gave {order}, first answer was {placed}")
            elif response.headers.get("Idempotent-Replayed") != "true":
                response.failure("a replayed order without Idempotent-Replayed: true")

    @task(2)
    def check_notification(self) -> None:
        """The oldest confirmed order's notification: exactly one, within the deadline."""
        if not self.awaiting_notification:
            return
        placed = self.awaiting_notification[0]
        age = time.monotonic() - placed.at
        if age < NOTIFICATION_FIRST_LOOK_SECONDS:
            return
        self.awaiting_notification.popleft()
        with self.client.get(
            "/api/notifications",
            params={"order_id": placed.id},
            name="/api/notifications?order_id=[id]",
            catch_response=True,
        ) as response:
            found = json_of(response, 200)
            if found is None:
                return
            if not isinstance(found, list) or len(found) > 1:
                response.failure(f"expected at most one notification for {placed.id}: {found}")
            elif not found and age > NOTIFICATION_DEADLINE_SECONDS:
                response.failure(f"no notification for {placed.id} after {age:.0f} s")
            elif not found:
                self.awaiting_notification.append(placed)  # not yet: look again later
            elif found[0].get("order_status") != "confirmed":
                response.failure(f"notification of {placed.id} says {found[0]}")

    def _post_order(self, body: dict[str, Any], key: str, name: str) -> dict[str, Any] | None:
        with self.client.post(
            "/api/orders",
            json=body,
            headers={"Idempotency-Key": key},
            name=name,
            catch_response=True,
        ) as response:
            order = json_of(response, 201)
            if order is None:
                return None
            problem = _order_problem(order, body)
            if problem:
                response.failure(problem)
                return None
            return dict(order)

    def _read_back(self, placed: Placed) -> None:
        with self.client.get(
            f"/api/orders/{placed.id}", name="/api/orders/[id]", catch_response=True
        ) as response:
            order = json_of(response, 200)
            if order is not None and (order.get("id"), order.get("status")) != (
                placed.id,
                placed.status,
            ):
                response.failure(f"read back {order}, placed {placed}")


def _order_problem(order: object, body: dict[str, Any]) -> str | None:
    """What is wrong with a 201 answer to `body`, or None."""
    if not isinstance(order, dict) or not isinstance(order.get("id"), str):
        return f"not an order: {order!r}"
    status = order.get("status")
    if status not in ORDER_STATUSES:
        return f"an acknowledged order must be final (confirmed or rejected): {order}"
    if status == "rejected" and "insufficient stock" not in str(order.get("reason")):
        return f"rejected for another reason than stock: {order}"
    if order.get("items") != body["items"] or order.get("customer_email") != body["customer_email"]:
        return f"the order does not echo what was ordered: {order} for {body}"
    return None
