"""Negative control of the invariants every resilience test ends with: planted damage is found.

An oversold order (confirmed, its reservation gone) and stock held by a rejected order are
planted straight into inventory-db, and an order id is asked for that was never notified; the same
checks that run after every test must report each.
The damage is undone before the test ends, so the suite's own after-test check sees it healthy.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import httpx
import pytest

from suites.invariants import wait_one_notification_each
from suites.resilience import invariants
from testbed.cluster import Testbed
from testbed.kube import Kube

pytestmark = pytest.mark.cluster

ORDER_SKU = "SKU-CABLE"  # 1000 in stock
SCARCE_SKU = "SKU-MONITOR"  # 25 in stock: an order of 1000 is rejected


def place_order(gateway_url: str, sku: str, quantity: int) -> dict[str, object]:
    with httpx.Client(base_url=gateway_url, timeout=10) as api:
        response = api.post(
            "/api/orders",
            json={
                "customer_email": "negative-control@example.com",
                "items": [{"sku": sku, "quantity": quantity}],
            },
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
    assert response.status_code == 201, response.text
    order: dict[str, object] = response.json()
    return order


def set_reservation(testbed: Testbed, kube: Kube, order_id: str, status: str) -> None:
    rows = invariants.psql(
        testbed,
        kube,
        "inventory-db",
        "inventory",
        f"UPDATE reservations SET status = '{status}' WHERE key = '{order_id}' RETURNING key",
    )
    assert rows == [[order_id]], f"no reservation {order_id} to set to {status}: {rows}"


@dataclass(frozen=True)
class Planted:
    since: datetime  # the check's window starts before the order
    order_id: str


@pytest.fixture
def confirmed_order(testbed: Testbed, kube: Kube, gateway_url: str) -> Iterator[Planted]:
    """A confirmed order whose reservation is put back to `reserved` after the test."""
    since = invariants.database_now(testbed, kube)
    order = place_order(gateway_url, ORDER_SKU, quantity=1)
    assert order["status"] == "confirmed", order
    yield Planted(since, str(order["id"]))
    set_reservation(testbed, kube, str(order["id"]), "reserved")


@pytest.fixture
def rejected_order(testbed: Testbed, kube: Kube, gateway_url: str) -> Iterator[Planted]:
    """A rejected order (more units than exist), its planted reservation undone afterwards."""
    since = invariants.database_now(testbed, kube)
    order = place_order(gateway_url, SCARCE_SKU, quantity=1000)
    assert order["status"] == "rejected", order
    yield Planted(since, str(order["id"]))
    set_reservation(testbed, kube, str(order["id"]), "rejected")


def test_negative_control_the_invariants_find_an_oversold_order(
    testbed: Testbed, kube: Kube, confirmed_order: Planted
) -> None:
    # arrange: the check clean for this order first (the positive control)
    order_id = confirmed_order.order_id
    assert order_id not in invariants.check(testbed, kube, confirmed_order.since).oversold

    # act: its stock quietly given back, as a lost reservation would
    set_reservation(testbed, kube, order_id, "released")

    # assert: the after-test check reports it
    findings = invariants.check(testbed, kube, confirmed_order.since)
    assert order_id in findings.oversold, findings


def test_negative_control_the_invariants_find_stock_held_by_a_rejected_order(
    testbed: Testbed, kube: Kube, rejected_order: Planted
) -> None:
    # arrange: the check clean for this order first
    order_id = rejected_order.order_id
    assert order_id not in invariants.check(testbed, kube, rejected_order.since).held_by_rejected

    # act: stock reserved for an order that was turned down
    set_reservation(testbed, kube, order_id, "reserved")

    # assert: the after-test check reports it
    findings = invariants.check(testbed, kube, rejected_order.since)
    assert order_id in findings.held_by_rejected, findings


def test_negative_control_the_invariants_find_an_order_without_its_notification(
    gateway_url: str,
) -> None:
    # arrange: an order id notification-service never heard of (as if its event were lost)
    never_notified = str(uuid.uuid4())

    # act / assert: the after-test wait for exactly one notification each gives up on it
    with (
        httpx.Client(base_url=gateway_url, timeout=10) as api,
        pytest.raises(AssertionError, match="one notification for each of 1 confirmed orders"),
    ):
        wait_one_notification_each(api, [never_notified], timeout=5)


def test_negative_control_the_invariants_find_a_lost_acknowledged_order(
    testbed: Testbed, kube: Kube, confirmed_order: Planted
) -> None:
    # arrange: the order as acknowledged is clean (the positive control)
    order_id = confirmed_order.order_id
    clean = invariants.check(testbed, kube, confirmed_order.since, {order_id: "confirmed"})
    assert clean.lost_acknowledged == [], clean

    # act: an acknowledged order order-db never kept, and one acknowledged with another status
    vanished = str(uuid.uuid4())
    acknowledged = {vanished: "confirmed", order_id: "rejected"}

    # assert
    findings = invariants.check(testbed, kube, confirmed_order.since, acknowledged)
    assert findings.lost_acknowledged == sorted(
        [
            f"{vanished} (answered confirmed, now missing)",
            f"{order_id} (answered rejected, now confirmed)",
        ]
    ), findings


@pytest.fixture
def unit_from_nothing(testbed: Testbed, kube: Kube) -> Iterator[str]:
    """One unit of ORDER_SKU put on the shelf behind the services' back, taken off afterwards."""
    yield ORDER_SKU
    invariants.psql(
        testbed,
        kube,
        "inventory-db",
        "inventory",
        f"UPDATE products SET stock = stock - 1 WHERE sku = '{ORDER_SKU}' RETURNING sku",
    )


def test_negative_control_the_invariants_find_stock_that_was_not_conserved(
    testbed: Testbed, kube: Kube, gateway_url: str, unit_from_nothing: str
) -> None:
    # arrange: the supply before, and an order that moves a unit from shelf to reservation
    since = invariants.database_now(testbed, kube)
    before = invariants.supply(testbed, kube)
    place_order(gateway_url, unit_from_nothing, quantity=1)
    clean = invariants.check(testbed, kube, since, supply_before=before)
    assert clean.supply_changed == [], clean  # the positive control: an order conserves stock

    # act: a unit appears on the shelf that no release gave back
    invariants.psql(
        testbed,
        kube,
        "inventory-db",
        "inventory",
        f"UPDATE products SET stock = stock + 1 WHERE sku = '{unit_from_nothing}' RETURNING sku",
    )

    # assert
    findings = invariants.check(testbed, kube, since, supply_before=before)
    units = before[unit_from_nothing]
    assert findings.supply_changed == [f"{unit_from_nothing}: {units} -> {units + 1}"], findings


def test_negative_control_the_recount_finds_an_earlier_order_not_notified_once(
    gateway_url: str,
) -> None:
    # arrange: an order id counted before, now without its one notification (as if the store
    # lost it; a second notification fails the same comparison)
    never_notified = str(uuid.uuid4())

    # act / assert
    with pytest.raises(AssertionError, match="counted again"):
        invariants.recount_once_each(gateway_url, [never_notified])
