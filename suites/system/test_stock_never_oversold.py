"""Promise: concurrent orders for a product with stock S never confirm more than S units.

The orders are sent as clients send them: with an Idempotency-Key each, and sent again with it
when answered 503 (the service too busy to decide within its deadline, as on a loaded machine:
seen on 2 Dec, 8 of 200 orders answered 503 after 7 s while the air-gapped builds ran beside the
fast suite). The promise is checked on the final answers.
"""

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from suites.system.stack import (
    new_product,
    order_body,
    post_concurrently_as_clients,
    stock_of,
)

# An order shape: units of the scarce product, plus optionally units of a plentiful one.
order_shapes = st.lists(
    st.tuples(st.integers(min_value=1, max_value=5), st.integers(min_value=0, max_value=3)),
    min_size=1,
    max_size=12,
)


def _confirmed_units(responses: list[Any], bodies: list[dict[str, Any]], sku: str) -> int:
    units = 0
    for response, body in zip(responses, bodies, strict=True):
        assert response.status_code == 201, response.text
        if response.json()["status"] == "confirmed":
            units += sum(i["quantity"] for i in body["items"] if i["sku"] == sku)
    return units


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(stock=st.integers(min_value=0, max_value=15), shapes=order_shapes)
def test_concurrent_orders_never_confirm_more_units_than_the_stock(
    gateway_url: str, inventory_url: str, stock: int, shapes: list[tuple[int, int]]
) -> None:
    # arrange: a scarce product with `stock` units and a plentiful one
    scarce = new_product(inventory_url, stock)
    plenty = new_product(inventory_url, 10_000)
    bodies = [
        order_body((scarce, units), *([(plenty, extra)] if extra else []))
        for units, extra in shapes
    ]

    # act: all orders at once through the gateway
    responses, _ = post_concurrently_as_clients(f"{gateway_url}/api/orders", bodies)

    # assert: never more than the stock, and exactly the confirmed units left the shelf
    confirmed = _confirmed_units(responses, bodies, scarce)
    assert confirmed <= stock
    assert stock_of(inventory_url, scarce) == stock - confirmed
    demand = sum(units for units, _ in shapes)
    if demand <= stock:
        assert confirmed == demand, "orders were rejected although stock sufficed"


def test_two_hundred_concurrent_orders_for_fifty_units_confirm_exactly_fifty(
    gateway_url: str, inventory_url: str
) -> None:
    # arrange
    sku = new_product(inventory_url, 50)
    bodies = [order_body((sku, 1), email=f"buyer{i}@example.com") for i in range(200)]

    # act
    responses, resent = post_concurrently_as_clients(f"{gateway_url}/api/orders", bodies)
    print(f"\n{resent} orders sent again after a 503")

    # assert
    statuses = [r.status_code for r in responses]
    assert statuses == [201] * 200, sorted(set(statuses))
    outcomes = [r.json()["status"] for r in responses]
    assert outcomes.count("confirmed") == 50
    assert outcomes.count("rejected") == 150
    assert stock_of(inventory_url, sku) == 0
