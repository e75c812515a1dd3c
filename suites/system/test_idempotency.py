"""Promise: a retried request with the same key has the effect of one request."""

import uuid

import httpx

from suites.system.stack import (
    Stack,
    new_product,
    order_body,
    order_count,
    post_concurrently,
    stock_of,
)


def test_a_retried_order_with_the_same_idempotency_key_returns_the_same_order(
    gateway_url: str, inventory_url: str
) -> None:
    # arrange
    sku = new_product(inventory_url, 10)
    headers = {"Idempotency-Key": f"retry-{uuid.uuid4()}"}
    body = order_body((sku, 2))

    # act
    first = httpx.post(f"{gateway_url}/api/orders", json=body, headers=headers, timeout=10)
    retry = httpx.post(f"{gateway_url}/api/orders", json=body, headers=headers, timeout=10)

    # assert
    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert retry.headers["idempotent-replayed"] == "true"
    assert stock_of(inventory_url, sku) == 8


def test_concurrent_retries_with_one_key_create_one_order_and_reserve_once(
    stack: Stack, gateway_url: str, inventory_url: str
) -> None:
    # arrange
    sku = new_product(inventory_url, 10)
    key = f"storm-{uuid.uuid4()}"
    orders_before = order_count(stack.infra)

    # act: 20 identical requests at once
    responses = post_concurrently(
        f"{gateway_url}/api/orders",
        [order_body((sku, 3))] * 20,
        headers=[{"Idempotency-Key": key}] * 20,
    )

    # assert
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert order_count(stack.infra) == orders_before + 1
    assert stock_of(inventory_url, sku) == 7


def test_an_idempotency_key_reused_for_a_different_order_is_refused(
    gateway_url: str, inventory_url: str
) -> None:
    # arrange
    sku = new_product(inventory_url, 10)
    headers = {"Idempotency-Key": f"reuse-{uuid.uuid4()}"}
    httpx.post(f"{gateway_url}/api/orders", json=order_body((sku, 1)), headers=headers, timeout=10)

    # act
    other = httpx.post(
        f"{gateway_url}/api/orders", json=order_body((sku, 5)), headers=headers, timeout=10
    )

    # assert
    assert other.status_code == 409
    assert "Idempotency-Key" in other.json()["detail"]
    assert stock_of(inventory_url, sku) == 9


def test_a_reservation_and_its_release_each_take_effect_once(inventory_url: str) -> None:
    # arrange
    sku = new_product(inventory_url, 10)
    key = f"res-{uuid.uuid4()}"
    request = {"key": key, "items": [{"sku": sku, "quantity": 4}]}

    # act / assert: reserving twice decrements once
    first = httpx.post(f"{inventory_url}/reservations", json=request, timeout=5)
    again = httpx.post(f"{inventory_url}/reservations", json=request, timeout=5)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()
    assert stock_of(inventory_url, sku) == 6

    # act / assert: releasing twice restores once
    for _ in range(2):
        released = httpx.post(f"{inventory_url}/reservations/{key}/release", timeout=5)
        assert released.json()["status"] == "released"
    assert stock_of(inventory_url, sku) == 10
