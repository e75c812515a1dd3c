"""Promise: a retried request with the same key has the effect of one request. A key is the
customer's own (another customer's same key is another request) and lasts
IDEMPOTENCY_TTL_SECONDS; after that it places a new order."""

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from psycopg.types.json import Jsonb

from suites.system import servers
from suites.system.stack import (
    ORDER_DB_ROLE,
    Service,
    Stack,
    new_product,
    order_body,
    order_count,
    post_concurrently,
    stock_of,
)
from suites.waiting import eventually
from system.order_service.schemas import OrderRequest
from system.order_service.store import request_hash

#: A key's lifetime in the expiry test: long enough for the first answer to replay, short
#: enough to wait for.
SHORT_TTL_SECONDS = 2


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


def test_the_same_key_from_another_customer_places_that_customer_s_own_order(
    gateway_url: str, inventory_url: str
) -> None:
    # arrange: one customer's order under a key
    sku = new_product(inventory_url, 10)
    headers = {"Idempotency-Key": f"shared-{uuid.uuid4()}"}
    ada = httpx.post(
        f"{gateway_url}/api/orders",
        json=order_body((sku, 1), email="ada@example.com"),
        headers=headers,
        timeout=10,
    )

    # act: another customer sends the same key (keys such as "1" or "cart" are common)
    grace = httpx.post(
        f"{gateway_url}/api/orders",
        json=order_body((sku, 1), email="grace@example.com"),
        headers=headers,
        timeout=10,
    )

    # assert: an order of her own, nothing of Ada's shown to her
    assert ada.status_code == grace.status_code == 201, grace.text
    assert grace.json()["id"] != ada.json()["id"]
    assert grace.json()["customer_email"] == "grace@example.com"
    assert "idempotent-replayed" not in grace.headers
    assert stock_of(inventory_url, sku) == 8


@pytest.fixture
def short_lived_keys(stack: Stack) -> Service:
    """An order-service of its own whose keys last SHORT_TTL_SECONDS."""
    return stack.start_extra(
        "order_service", stack.orders, {"IDEMPOTENCY_TTL_SECONDS": str(SHORT_TTL_SECONDS)}
    )


def test_an_expired_key_places_a_new_order_instead_of_replaying(
    short_lived_keys: Service, inventory_url: str
) -> None:
    # arrange: an order, and its retry while the key lasts
    sku = new_product(inventory_url, 10)
    url = f"{short_lived_keys.url}/orders"
    body, headers = order_body((sku, 1)), {"Idempotency-Key": f"expiring-{uuid.uuid4()}"}
    first = httpx.post(url, json=body, headers=headers, timeout=10)
    retry = httpx.post(url, json=body, headers=headers, timeout=10)
    assert retry.json()["id"] == first.json()["id"]

    # act: the same request again, until the key has expired
    def new_order() -> httpx.Response | None:
        again = httpx.post(url, json=body, headers=headers, timeout=10)
        return again if again.json()["id"] != first.json()["id"] else None

    later = eventually(
        new_order,
        timeout=SHORT_TTL_SECONDS + 10,
        interval=0.5,
        what=f"a new order for a key {SHORT_TTL_SECONDS} s old",
    )

    # assert: a second order, not a replay; its own retry replays it
    assert later.status_code == 201, later.text
    assert "idempotent-replayed" not in later.headers
    assert (
        httpx.post(url, json=body, headers=headers, timeout=10).json()["id"] == later.json()["id"]
    )
    assert stock_of(inventory_url, sku) == 8


#: The orders table as order-service created it before keys were the customer's: one key for
#: all customers, for ever (an existing database the migration meets).
ORDERS_BEFORE_CUSTOMER_KEYS = """
CREATE TABLE orders (
    id              uuid PRIMARY KEY,
    idempotency_key text NOT NULL UNIQUE,
    request_hash    text NOT NULL,
    customer_email  text NOT NULL,
    items           jsonb NOT NULL,
    status          text NOT NULL CHECK (status IN ('pending', 'confirmed', 'rejected')),
    reason          text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
)
"""


@dataclass(frozen=True)
class OldOrder:
    """An order placed under a global key, in a database order-service has not migrated yet."""

    database: str
    id: uuid.UUID
    key: str
    body: dict[str, Any]


@pytest.fixture
def order_before_customer_keys(stack: Stack, inventory_url: str) -> Iterator[OldOrder]:
    """A database with the old orders table, holding one confirmed order as the old
    order-service stored it."""
    name = f"orders_{uuid.uuid4().hex[:10]}"
    servers.create_databases(stack.infra.postgres_port, [name])
    body = order_body((new_product(inventory_url, 10), 1), email="ada@example.com")
    order = OldOrder(name, uuid.uuid4(), f"old-{uuid.uuid4()}", body)
    with stack.infra.db(name) as conn:
        conn.execute(ORDERS_BEFORE_CUSTOMER_KEYS)
        conn.execute(
            "INSERT INTO orders (id, idempotency_key, request_hash, customer_email, items, status)"
            " VALUES (%s, %s, %s, %s, %s, 'confirmed')",
            (
                order.id,
                order.key,
                request_hash(OrderRequest.model_validate(body)),
                body["customer_email"],
                Jsonb(body["items"]),
            ),
        )
    # As an administrator upgrades a database made before the service's role existed: the
    # databases' init script hands the superuser's tables to the role.
    servers.create_role(stack.infra.postgres_port, name, ORDER_DB_ROLE)
    yield order
    with stack.infra.db("postgres") as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_a_database_of_global_keys_is_migrated_and_its_orders_still_replay(
    stack: Stack, order_before_customer_keys: OldOrder
) -> None:
    # arrange: order-service starting on the old database (its start-up migrates it)
    old = order_before_customer_keys
    service = stack.start_extra("order_service", stack.orders, {"ORDER_DB_NAME": old.database})
    url, headers = f"{service.url}/orders", {"Idempotency-Key": old.key}

    # act: the old order retried with its key, and the key reused by another customer
    retry = httpx.post(url, json=old.body, headers=headers, timeout=10)
    other_body = {**old.body, "customer_email": "grace@example.com"}
    other = httpx.post(url, json=other_body, headers=headers, timeout=10)

    # assert
    assert retry.status_code == 201, retry.text
    assert retry.json()["id"] == str(old.id)
    assert retry.headers["idempotent-replayed"] == "true"
    assert other.status_code == 201, other.text
    assert other.json()["id"] != str(old.id)
