"""The order flow's invariants, and the one checker that judges them.

What must hold after any window of traffic, whatever broke meanwhile:
- Every order a client was answered 201 for is kept, with the status it was answered.
- No oversell: every confirmed order holds its stock (a `reserved` reservation in inventory-db,
  the order id its key); no stock is held for a rejected order; no stock is negative.
- Stock is conserved: for every SKU, the units on the shelf plus the units held by orders (its
  supply) are the same after the window as before it: no unit made or lost by a reservation
  taken twice, released twice or half-applied. Nothing restocks meanwhile.
- Where the window must end settled (a load run): no order is left pending.
- Exactly one notification per confirmed order, once the outbox and the queue caught up, and
  still one a while later (a message redelivered after the queue's visibility timeout shows).

Two readers fill the same `Books`, and `judge` compares them with what was acknowledged:
- the resilience suite's, after every test, from the testbed's databases themselves
  (suites/resilience/invariants.py): the reservations are read, and the supply counts the units
  every `reserved` reservation holds;
- the load runs', after each run, through the API (suites/load/invariants.py): the API shows no
  reservation, so the supply counts the units of the window's confirmed orders, and the
  reservation checks are not made (`Findings` says so).
`assert_hold` fails a test with every broken invariant at once. The notifications are counted
through the API by both (`wait_one_notification_each`, `recount_once_each`).

The campaign (suites/campaign/checker.py) judges a whole history of operations and faults with
rules of its own, over a state it reads itself; these are what every window must keep.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx

from kubepromises.waiting import NotYet, eventually

#: The outbox relay polls every second and backs off to 10 s; the consumer then long-polls.
NOTIFICATION_TIMEOUT = 90.0
#: The statuses an order ends in.
SETTLED = ("confirmed", "rejected")


@dataclass(frozen=True)
class Books:
    """What the order flow holds at the end of a window, however it was read."""

    #: Order id → status, for the orders created in the window.
    orders: Mapping[str, str]
    #: SKU → units on the shelf.
    stock: Mapping[str, int]
    #: SKU → units on the shelf plus units held by orders.
    supply: Mapping[str, int]
    #: The orders of the window that hold stock (a `reserved` reservation); None where the
    #: reservations cannot be read (through the API).
    holding: Collection[str] | None = None


@dataclass(frozen=True)
class Findings:
    """What `judge` found: each list names what broke one invariant."""

    orders: Mapping[str, str]
    lost_acknowledged: list[str]  # answered 201, then missing or with another status
    oversold: list[str]  # confirmed without reserved stock
    held_by_rejected: list[str]  # rejected, yet stock reserved
    negative_stock: list[str]
    supply_changed: list[str]  # SKUs whose shelf + held units moved during the window
    unsettled: list[str]  # left pending where the window must end settled
    reservations_read: bool = True

    def broken(self) -> dict[str, list[str]]:
        """Each broken invariant, in words → what broke it."""
        named = {
            "acknowledged orders lost or changed": self.lost_acknowledged,
            "confirmed without reserved stock": self.oversold,
            "stock held by rejected orders": self.held_by_rejected,
            "negative stock": self.negative_stock,
            "stock not conserved (shelf + held units)": self.supply_changed,
            "orders left pending": self.unsettled,
        }
        return {invariant: found for invariant, found in named.items() if found}

    def __str__(self) -> str:
        statuses = dict(Counter(self.orders.values()))
        read = "" if self.reservations_read else "; reservations not read (through the API)"
        return f"{len(self.orders)} orders in the window {statuses}{read}"


def supply_changes(before: Mapping[str, int], after: Mapping[str, int]) -> list[str]:
    """The SKUs whose supply moved, vanished or appeared between two readings."""
    return [
        f"{sku}: {before.get(sku, 'missing')} -> {after.get(sku, 'missing')}"
        for sku in sorted(before.keys() | after.keys())
        if before.get(sku) != after.get(sku)
    ]


def judge(
    books: Books,
    acknowledged: Mapping[str, str] | None = None,
    supply_before: Mapping[str, int] | None = None,
    *,
    settled: bool = False,
) -> Findings:
    """The invariants over `books`. `acknowledged`: order id → the status a client was answered
    with, for orders placed in the window; `supply_before`: the supply when the window began (no
    conservation check without it); `settled`: every order of the window must have ended."""
    # holding is None where the reservations were not read (through the API): which orders hold
    # stock is then not known, and neither check is made.
    orders, holding = books.orders, books.holding
    return Findings(
        orders=orders,
        lost_acknowledged=sorted(
            f"{order_id} (answered {status}, now {orders.get(order_id, 'missing')})"
            for order_id, status in (acknowledged or {}).items()
            if orders.get(order_id) != status
        ),
        oversold=[]
        if holding is None
        else sorted(i for i, s in orders.items() if s == "confirmed" and i not in holding),
        held_by_rejected=[]
        if holding is None
        else sorted(i for i, s in orders.items() if s == "rejected" and i in holding),
        negative_stock=sorted(sku for sku, units in books.stock.items() if units < 0),
        supply_changed=supply_changes(supply_before, books.supply)
        if supply_before is not None
        else [],
        unsettled=sorted(i for i, s in orders.items() if s not in SETTLED) if settled else [],
        reservations_read=holding is not None,
    )


def assert_hold(findings: Findings) -> None:
    """AssertionError naming every broken invariant and what broke it."""
    broken = findings.broken()
    assert broken == {}, f"{findings}:\n" + "\n".join(
        f"- {invariant}: {found[:10]}{' ...' if len(found) > 10 else ''}"
        for invariant, found in broken.items()
    )


def held_units(items_of: Iterable[Iterable[tuple[str, int]]]) -> Counter[str]:
    """Units per SKU that these orders' items (SKU, quantity) hold."""
    units: Counter[str] = Counter()
    for items in items_of:
        for sku, quantity in items:
            units[sku] += quantity
    return units


# -- notifications, counted through the API ------------------------------------------------------


def notification_counts(client: httpx.Client, order_ids: list[str]) -> dict[str, int]:
    """Order id → how many notifications notification-service stored for it."""

    def count(order_id: str) -> int:
        response = client.get("/api/notifications", params={"order_id": order_id, "limit": 10})
        if response.status_code != 200:
            raise NotYet(f"GET /api/notifications?order_id={order_id}: {response.status_code}")
        return len(response.json())

    with ThreadPoolExecutor(8) as pool:
        counts = list(pool.map(count, order_ids))
    return dict(zip(order_ids, counts, strict=True))


class DuplicateNotification(Exception):
    """An order was notified more than once: no point waiting any longer."""


def wait_one_notification_each(
    client: httpx.Client, order_ids: list[str], timeout: float = NOTIFICATION_TIMEOUT
) -> None:
    """Until every order has its notification; fails at once on a duplicate (waiting cannot
    make a duplicate go away)."""
    missing = list(order_ids)

    def all_notified() -> None:
        counts = notification_counts(client, missing)
        duplicated = {i: n for i, n in counts.items() if n > 1}
        if duplicated:
            raise DuplicateNotification(f"duplicate notifications: {duplicated}")
        missing[:] = [i for i, n in counts.items() if n == 0]
        if missing:
            raise NotYet(f"{len(missing)} of {len(order_ids)} without one, e.g. {missing[:3]}")

    eventually(
        all_notified,
        timeout=timeout,
        interval=1.0,
        what=f"one notification for each of {len(order_ids)} confirmed orders",
        hint="order-service's outbox relay and notification-service's consumer must keep up",
    )


def recount_once_each(client: httpx.Client, order_ids: list[str]) -> None:
    """Each of `order_ids` (counted once each already) still has exactly one notification."""
    counts = notification_counts(client, order_ids)
    changed = {order_id: n for order_id, n in counts.items() if n != 1}
    assert changed == {}, f"notifications of earlier orders, counted again: {changed}"
