"""The system's invariants, read from the databases themselves after every resilience test.

- No oversell: every confirmed order holds a `reserved` reservation in inventory-db (the order
  id is the reservation key), and no stock is negative.
- No stock held by a rejected order.
- Stock is conserved: for every SKU, the units on the shelf plus the units held by `reserved`
  reservations (its supply) are the same after the test as before it — no unit made or lost by
  a reservation taken twice, released twice or half-applied. Nothing restocks during these
  tests; each reservation and release is one transaction, so any snapshot must balance.
- Exactly one notification per confirmed order, once the outbox and the queue caught up.
- Every order the traffic was answered 201 for is in order-db, with the status it was answered.

Only orders created since the test began are checked, so one test's findings stay its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import httpx

from kubepromises.waiting import NotYet, eventually
from suites.load import invariants as notifications
from suites.resilience.live import selector
from testbed.cluster import Testbed
from testbed.kube import Kube, is_ready
from testbed.traffic import EVERY_BACKEND

#: The outbox relay polls every second and backs off to 10 s; the consumer then long-polls.
NOTIFICATION_TIMEOUT = 90.0
DATABASE_TIMEOUT = 120.0


@dataclass(frozen=True)
class Findings:
    """What the invariants found for the orders of one window."""

    orders: dict[str, str]  # order id → status
    oversold: list[str]  # confirmed without a reserved reservation
    held_by_rejected: list[str]  # rejected, yet stock reserved
    negative_stock: list[str]
    lost_acknowledged: list[str]  # answered 201, then missing or with another status
    supply_changed: list[str]  # SKUs whose stock + reserved units moved during the test

    def __str__(self) -> str:
        statuses: dict[str, int] = {}
        for status in self.orders.values():
            statuses[status] = statuses.get(status, 0) + 1
        return f"{len(self.orders)} orders since the test began {statuses}"


def psql(testbed: Testbed, kube: Kube, database: str, dbname: str, sql: str) -> list[list[str]]:
    """Rows of `sql` run by psql inside the database's own pod (local socket, no password)."""

    def ready_pod() -> str:
        pods = [p.metadata.name for p in kube.pods(selector(database)) if is_ready(p)]
        if not pods:
            raise NotYet(f"no Ready {database} pod")
        return str(pods[0])

    pod = eventually(
        ready_pod,
        timeout=DATABASE_TIMEOUT,
        interval=1,
        what=f"a Ready {database} pod to check invariants in",
        hint="the previous test may have left the database down",
    )
    out = testbed.kubectl(
        "exec",
        "-n",
        kube.namespace,
        pod,
        "--",
        "sh",
        "-c",
        f'psql -qtA -U "$POSTGRES_USER" -d {dbname} -v ON_ERROR_STOP=1 -F "|" -c "{sql}"',
        timeout=60,
    )
    return [line.split("|") for line in out.splitlines() if line.strip()]


def database_now(testbed: Testbed, kube: Kube) -> datetime:
    """order-db's clock: the window's start, in the clock the orders are stamped with."""
    ((now,),) = psql(testbed, kube, "order-db", "orders", "SELECT now()")
    return datetime.fromisoformat(now)


#: Per SKU, the shelf's units plus those held by reserved reservations, in one statement (one
#: snapshot: a reservation moves units between the two inside one transaction).
SUPPLY_SQL = (
    "SELECT p.sku, p.stock + COALESCE((SELECT SUM((i->>'quantity')::int) "
    "FROM reservations r, jsonb_array_elements(r.items) i "
    "WHERE r.status = 'reserved' AND i->>'sku' = p.sku), 0) FROM products p ORDER BY p.sku"
)


def supply(testbed: Testbed, kube: Kube) -> dict[str, int]:
    """SKU → units on the shelf plus units reserved (constant while nobody restocks)."""
    return {
        sku: int(units)
        for sku, units in psql(testbed, kube, "inventory-db", "inventory", SUPPLY_SQL)
    }


def supply_changes(before: dict[str, int], after: dict[str, int]) -> list[str]:
    """The SKUs whose supply moved (or vanished) between two readings."""
    return [
        f"{sku}: {units} -> {after.get(sku, 'missing')}"
        for sku, units in sorted(before.items())
        if after.get(sku) != units
    ]


def check(
    testbed: Testbed,
    kube: Kube,
    since: datetime,
    acknowledged: dict[str, str] | None = None,
    supply_before: dict[str, int] | None = None,
) -> Findings:
    """The invariants for orders created since `since`; `acknowledged`: order id → the status
    a client was answered with, for orders placed since then; `supply_before`: the supply
    (`supply`) when the window began."""
    rows = psql(
        testbed,
        kube,
        "order-db",
        "orders",
        f"SELECT id, status FROM orders WHERE created_at >= '{since.isoformat()}'",
    )
    orders = {order_id: status for order_id, status in rows}
    reserved: set[str] = set()
    if orders:
        keys = ",".join(f"'{order_id}'" for order_id in orders)
        reserved = {
            key
            for key, status in psql(
                testbed,
                kube,
                "inventory-db",
                "inventory",
                f"SELECT key, status FROM reservations WHERE key IN ({keys})",
            )
            if status == "reserved"
        }
    negative = psql(
        testbed, kube, "inventory-db", "inventory", "SELECT sku FROM products WHERE stock < 0"
    )
    return Findings(
        orders=orders,
        oversold=sorted(i for i, s in orders.items() if s == "confirmed" and i not in reserved),
        held_by_rejected=sorted(i for i, s in orders.items() if s == "rejected" and i in reserved),
        negative_stock=[sku for (sku,) in negative],
        lost_acknowledged=sorted(
            f"{order_id} (answered {status}, now {orders.get(order_id, 'missing')})"
            for order_id, status in (acknowledged or {}).items()
            if orders.get(order_id) != status
        ),
        supply_changed=supply_changes(supply_before, supply(testbed, kube))
        if supply_before is not None
        else [],
    )


#: Rounds over every backend that must all succeed before a test breaks anything.
HEALTHY_ROUNDS = 5


def wait_healthy(gateway_url: str) -> None:
    """Until every backend answers several rounds in a row: each test starts from a healthy
    system, not from the previous test's leftovers (e.g. pooled connections to a database that
    the storage test restarted, each of which fails once before it is replaced)."""

    def healthy() -> None:
        with httpx.Client(base_url=gateway_url, timeout=10) as api:
            for _ in range(HEALTHY_ROUNDS):
                for target in EVERY_BACKEND:
                    status = api.request(target.method, target.path).status_code
                    if status not in target.expected:
                        raise NotYet(f"{target.name}: {status}")

    eventually(
        healthy,
        timeout=60,
        interval=1,
        what=f"{HEALTHY_ROUNDS} clean rounds of requests to every backend before the test",
        hint="the previous test may have left a dependency down",
    )


def wait_one_notification_each(gateway_url: str, confirmed: list[str]) -> None:
    """Until every confirmed order has exactly one notification (never two)."""
    with httpx.Client(base_url=gateway_url, timeout=10) as api:
        notifications.wait_one_notification_each(api, confirmed, timeout=NOTIFICATION_TIMEOUT)


def recount_once_each(gateway_url: str, confirmed: list[str]) -> None:
    """Each of `confirmed` (counted once each already) still has exactly one notification."""
    with httpx.Client(base_url=gateway_url, timeout=10) as api:
        counts = notifications.notification_counts(api, confirmed)
    changed = {order_id: n for order_id, n in counts.items() if n != 1}
    assert changed == {}, f"notifications of earlier orders, counted again: {changed}"
