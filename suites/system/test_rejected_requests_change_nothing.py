"""Promise: a rejected or invalid order request changes nothing (stock, orders)."""

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from suites.system.stack import Stack, new_product, order_body, order_count, stock_of


def test_an_order_rejected_for_insufficient_stock_leaves_every_stock_unchanged(
    gateway_url: str, inventory_url: str
) -> None:
    # arrange: the order can be served for one item but not the other
    enough = new_product(inventory_url, 10)
    scarce = new_product(inventory_url, 2)

    # act
    response = httpx.post(
        f"{gateway_url}/api/orders", json=order_body((enough, 5), (scarce, 3)), timeout=10
    )

    # assert: rejected with a reason naming the short SKU, and no stock moved
    assert response.status_code == 201
    order = response.json()
    assert order["status"] == "rejected"
    assert scarce in order["reason"]
    assert stock_of(inventory_url, enough) == 10
    assert stock_of(inventory_url, scarce) == 2


INVALID_ORDERS: dict[str, Callable[[str], dict[str, Any]]] = {
    "unknown sku": lambda sku: order_body((sku, 1), ("NO-SUCH-SKU", 1)),
    "zero quantity": lambda sku: order_body((sku, 0)),
    "negative quantity": lambda sku: order_body((sku, -2)),
    "quantity as text": lambda sku: {
        "customer_email": "ada@example.com",
        "items": [{"sku": sku, "quantity": "2"}],
    },
    "no items": lambda sku: {"customer_email": "ada@example.com", "items": []},
    "bad email": lambda sku: order_body((sku, 1), email="not-an-email"),
}


@pytest.mark.parametrize("case", INVALID_ORDERS)
def test_an_invalid_order_changes_neither_stock_nor_the_order_count(
    stack: Stack, gateway_url: str, inventory_url: str, case: str
) -> None:
    # arrange
    sku = new_product(inventory_url, 10)
    orders_before = order_count(stack.infra)

    # act
    response = httpx.post(f"{gateway_url}/api/orders", json=INVALID_ORDERS[case](sku), timeout=10)

    # assert
    assert response.status_code == 422, response.text
    assert stock_of(inventory_url, sku) == 10
    assert order_count(stack.infra) == orders_before
