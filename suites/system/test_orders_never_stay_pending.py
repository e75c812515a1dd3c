"""Promise: no order stays `pending` and no stock stays held without a confirmed order.

A request can stop between claiming an order and finalising it (inventory-service unreachable or
late, order-db down, a shutdown). Its order is then finished within PENDING_BOUND_SECONDS by the
reconciler: confirmed when its reservation holds stock, otherwise rejected with nothing held; a
reservation whose order does not exist is released. And every answer to a POST names the key
the order is filed under, so a client can always retry it.
"""

import socket
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from suites.system import servers
from suites.system.stack import Service, Stack, new_product, order_body, stock_of
from suites.waiting import eventually

#: The bound the reconciling instance runs with, and how often it looks.
BOUND_SECONDS = 2
RECONCILE_EVERY_SECONDS = 0.5


@pytest.fixture(scope="module")
def stranded(stack: Stack) -> Service:
    """An order-service whose inventory-service never answers: its orders stay pending. It
    never reconciles (its bound is an hour), so the orders wait for the other instance."""
    return stack.start_extra(
        "order_service",
        stack.orders,
        {
            "INVENTORY_SERVICE_URL": f"http://127.0.0.1:{servers.free_port()}",
            "PENDING_BOUND_SECONDS": "3600",
        },
    )


@pytest.fixture(scope="module")
def reconciling(stack: Stack) -> Service:
    """An order-service with a short pending bound, on the same databases."""
    return stack.start_extra(
        "order_service",
        stack.orders,
        {
            "PENDING_BOUND_SECONDS": str(BOUND_SECONDS),
            "RECONCILE_EVERY_SECONDS": str(RECONCILE_EVERY_SECONDS),
        },
    )


def _strand_an_order(stranded: Service, sku: str, quantity: int) -> str:
    """POST an order where inventory cannot be reached; returns the id of the pending order."""
    key = f"stranded-{uuid.uuid4()}"
    response = httpx.post(
        f"{stranded.url}/orders",
        json=order_body((sku, quantity)),
        headers={"Idempotency-Key": key},
        timeout=15,
    )
    assert response.status_code == 503, response.text
    assert response.headers["idempotency-key"] == key
    (order,) = [o for o in _orders(stranded) if o["status"] == "pending" and _has(o, sku)]
    return str(order["id"])


def _orders(service: Service) -> list[dict[str, Any]]:
    response = httpx.get(f"{service.url}/orders", params={"limit": 100}, timeout=5)
    response.raise_for_status()
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def _has(order: dict[str, Any], sku: str) -> bool:
    return any(item["sku"] == sku for item in order["items"])


def _order(service: Service, order_id: str) -> dict[str, Any]:
    response = httpx.get(f"{service.url}/orders/{order_id}", timeout=5)
    response.raise_for_status()
    order: dict[str, Any] = response.json()
    return order


def _reserve(inventory_url: str, key: str, sku: str, quantity: int) -> dict[str, Any]:
    response = httpx.post(
        f"{inventory_url}/reservations",
        json={"key": key, "items": [{"sku": sku, "quantity": quantity}]},
        timeout=5,
    )
    response.raise_for_status()
    reservation: dict[str, Any] = response.json()
    return reservation


def _final(service: Service, order_id: str) -> dict[str, Any] | None:
    order = _order(service, order_id)
    return order if order["status"] != "pending" else None


def test_a_pending_order_whose_stock_was_reserved_is_confirmed_within_the_bound(
    stranded: Service, reconciling: Service, inventory_url: str, gateway_url: str
) -> None:
    # arrange: inventory reserved the order's stock, but order-service never heard back
    sku = new_product(inventory_url, 10)
    order_id = _strand_an_order(stranded, sku, 3)
    assert _reserve(inventory_url, order_id, sku, 3)["status"] == "reserved"

    # act: the reconciler's bound passes
    order = eventually(
        lambda: _final(reconciling, order_id),
        timeout=BOUND_SECONDS + 15,
        interval=0.2,
        what=f"the pending order {order_id} finished by the reconciler",
    )

    # assert: confirmed, its stock held once, and it gets its one notification
    assert order["status"] == "confirmed", order
    assert stock_of(inventory_url, sku) == 7
    notifications = eventually(
        lambda: httpx.get(
            f"{gateway_url}/api/notifications", params={"order_id": order_id}, timeout=5
        ).json(),
        timeout=20,
        what="the reconciled order's notification",
    )
    assert len(notifications) == 1, notifications


def test_a_pending_order_with_nothing_reserved_is_rejected_and_a_late_reservation_takes_nothing(
    stranded: Service, reconciling: Service, inventory_url: str
) -> None:
    # arrange: the order never reached inventory
    sku = new_product(inventory_url, 10)
    order_id = _strand_an_order(stranded, sku, 4)

    # act
    order = eventually(
        lambda: _final(reconciling, order_id),
        timeout=BOUND_SECONDS + 15,
        interval=0.2,
        what=f"the pending order {order_id} finished by the reconciler",
    )

    # assert: rejected, nothing held, and the request's reservation arriving now is refused
    assert order["status"] == "rejected", order
    assert "not completed" in order["reason"], order
    late = _reserve(inventory_url, order_id, sku, 4)
    assert late["status"] == "released", late
    assert stock_of(inventory_url, sku) == 10


def test_a_reservation_without_an_order_is_released(
    reconciling: Service, inventory_url: str
) -> None:
    # arrange: stock held under an order id that order-db does not have
    sku = new_product(inventory_url, 10)
    orphan = str(uuid.uuid4())
    assert _reserve(inventory_url, orphan, sku, 6)["status"] == "reserved"
    assert stock_of(inventory_url, sku) == 4

    # act / assert
    eventually(
        lambda: stock_of(inventory_url, sku) == 10,
        timeout=BOUND_SECONDS + 15,
        interval=0.2,
        what=f"the orphan reservation {orphan} released",
    )


def test_a_reservation_of_an_existing_order_is_kept(
    reconciling: Service, inventory_url: str, gateway_url: str
) -> None:
    # negative control for the orphan rule: a confirmed order's stock stays held past the bound
    # arrange: the order, and two orphans whose keys are its neighbours in key order, the order
    # the reconciler pages through held reservations
    sku, orphan_sku = new_product(inventory_url, 10), new_product(inventory_url, 10)
    response = httpx.post(f"{gateway_url}/api/orders", json=order_body((sku, 2)), timeout=10)
    assert response.json()["status"] == "confirmed", response.text
    order_id = uuid.UUID(response.json()["id"])
    neighbours = [str(uuid.UUID(int=order_id.int + step)) for step in (-1, 1)]
    for key in neighbours:
        assert _reserve(inventory_url, key, orphan_sku, 1)["status"] == "reserved"

    # act: wait until the reconciler has released both neighbours
    eventually(
        lambda: stock_of(inventory_url, orphan_sku) == 10,
        timeout=BOUND_SECONDS + 15,
        interval=0.2,
        what=f"the orphan reservations {neighbours} released",
    )

    # assert
    assert stock_of(inventory_url, sku) == 8


def test_an_order_without_a_key_can_be_retried_with_the_key_the_gateway_returns(
    gateway_url: str, inventory_url: str
) -> None:
    # arrange
    sku = new_product(inventory_url, 10)
    body = order_body((sku, 1))

    # act: no Idempotency-Key sent; then a retry with the key the answer names
    first = httpx.post(f"{gateway_url}/api/orders", json=body, timeout=10)
    key = first.headers["idempotency-key"]
    again = httpx.post(
        f"{gateway_url}/api/orders", json=body, headers={"Idempotency-Key": key}, timeout=10
    )

    # assert: the same order, once
    assert first.status_code == 201, first.text
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.json()["id"] == first.json()["id"]
    assert stock_of(inventory_url, sku) == 9


def test_an_error_answer_names_the_key_too(gateway_url: str) -> None:
    # arrange: a key, and a body the key is then reused with
    key = f"k-{uuid.uuid4()}"
    unknown = httpx.post(
        f"{gateway_url}/api/orders",
        json=order_body(("NO-SUCH-SKU", 1)),
        headers={"Idempotency-Key": key},
        timeout=10,
    )

    assert unknown.status_code == 422, unknown.text
    assert unknown.headers["idempotency-key"] == key


@pytest.fixture
def silent_inventory() -> Iterator[str]:
    """An address that accepts connections and never answers (a hung inventory-service)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


def test_an_order_is_answered_within_order_services_deadline_when_inventory_hangs(
    stack: Stack, silent_inventory: str
) -> None:
    # arrange: inventory's read timeout (5 s) alone would outlast a 1.5 s deadline
    deadline = 1.5
    service = stack.start_extra(
        "order_service",
        stack.orders,
        {"INVENTORY_SERVICE_URL": silent_inventory, "ORDER_DEADLINE_SECONDS": str(deadline)},
    )
    key = f"deadline-{uuid.uuid4()}"

    # act
    response = httpx.post(
        f"{service.url}/orders",
        json=order_body(("SKU-CABLE", 1)),
        headers={"Idempotency-Key": key},
        timeout=15,
    )

    # assert: a prompt 503 that says how to retry, well before inventory's own timeout
    assert response.status_code == 503, response.text
    assert response.elapsed.total_seconds() < deadline + 1.0, response.elapsed
    assert "same Idempotency-Key" in response.json()["detail"]
    assert response.headers["idempotency-key"] == key
