"""A reservation or a release whose database hangs is answered 503 by inventory-service within
its write deadline, never held until order-service gives up (its inventory timeout), and the
write's outcome, unknown then, is still one: the same request again, once the database
answers, reserves or gives back the stock once.

The hang: an administrator's transaction holds `products` ACCESS EXCLUSIVE, so the write waits
on the lock, as on a database that stopped answering. Negative control: an instance of
inventory-service whose write deadline is past order-service's patience is still writing when
order-service gives up. (Before 7 Dec 2026 inventory-service's writes had no deadline: the
reads had theirs since 6 Dec.)
"""

import uuid

import httpx

from suites.system.stack import (
    DEADLINE_SLACK_SECONDS,
    Stack,
    new_product,
    stock_of,
    table_locked,
    timed,
)
from system.common.deadline import WRITE_OUTCOME_UNKNOWN
from system.inventory_service.config import Settings as InventorySettings
from system.order_service.config import Settings as OrderSettings

DEADLINE = InventorySettings().write_deadline_seconds
STOCK = 10


def reservation(sku: str) -> dict[str, object]:
    return {
        "key": f"write-deadline-{uuid.uuid4().hex[:12]}",
        "items": [{"sku": sku, "quantity": 1}],
    }


def assert_answered_unknown_in_time(answer: httpx.Response | None, took: float) -> None:
    """A prompt 503 that says the outcome is unknown and when to come back."""
    assert answer is not None, f"no answer in {took:.1f} s (write deadline {DEADLINE:g} s)"
    assert answer.status_code == 503, answer.text
    assert WRITE_OUTCOME_UNKNOWN in answer.json()["detail"], answer.text
    assert answer.headers["Retry-After"] == "1"
    assert DEADLINE <= took <= DEADLINE + DEADLINE_SLACK_SECONDS, f"answered after {took:.2f} s"


def test_a_reservation_of_a_hung_database_is_answered_503_and_its_key_reserves_once(
    stack: Stack, inventory_url: str
) -> None:
    # arrange: a product of its own
    sku = new_product(inventory_url, STOCK)
    body = reservation(sku)

    # act: the reservation while inventory-db's products are locked, by a patient caller
    with table_locked(stack, "inventory", "products"):
        answer, took = timed("POST", f"{inventory_url}/reservations", DEADLINE + 5, body)
    # ... and the same request once the database answers
    again = httpx.post(f"{inventory_url}/reservations", json=body, timeout=10)

    # assert: a prompt 503 then; one reservation, one unit taken
    assert_answered_unknown_in_time(answer, took)
    assert again.status_code in (200, 201), again.text
    assert again.json()["status"] == "reserved", again.text
    assert stock_of(inventory_url, sku) == STOCK - 1


def test_a_release_of_a_hung_database_is_answered_503_and_its_key_gives_back_once(
    stack: Stack, inventory_url: str
) -> None:
    # arrange: a reservation holding one unit
    sku = new_product(inventory_url, STOCK)
    body = reservation(sku)
    reserved = httpx.post(f"{inventory_url}/reservations", json=body, timeout=10)
    assert reserved.json()["status"] == "reserved", reserved.text
    release = f"{inventory_url}/reservations/{body['key']}/release"

    # act: the release while the products are locked, then the same release again
    with table_locked(stack, "inventory", "products"):
        answer, took = timed("POST", release, DEADLINE + 5)
    again = httpx.post(release, timeout=10)

    # assert: a prompt 503 then; released, the unit given back once
    assert_answered_unknown_in_time(answer, took)
    assert again.status_code == 200, again.text
    assert again.json()["status"] == "released", again.text
    assert stock_of(inventory_url, sku) == STOCK


def test_negative_control_a_write_deadline_past_the_callers_patience_leaves_it_waiting(
    stack: Stack, inventory_url: str
) -> None:
    # arrange: inventory-service with a write deadline longer than order-service waits for it
    patience = OrderSettings().inventory_timeout_seconds
    slow = stack.start_extra(
        "inventory_service", stack.inventory, {"WRITE_DEADLINE_SECONDS": str(patience * 10)}
    )
    body = reservation(new_product(inventory_url, STOCK))

    # act
    with table_locked(stack, "inventory", "products"):
        answer, took = timed("POST", f"{slow.url}/reservations", patience, body)

    # assert: the caller gave up first
    assert answer is None, f"answered {answer.status_code} after {took:.1f} s"
