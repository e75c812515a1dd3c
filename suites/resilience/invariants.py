"""The order flow's invariants after every resilience test, read from the testbed's databases
themselves and judged by the one checker (suites/invariants.py: what they are and why).

This module reads the `Books`: the orders created since the test began (order-db), the orders
holding a `reserved` reservation (inventory-db; the order id is the reservation key), and per
SKU the units on the shelf and the supply (shelf plus the units every `reserved` reservation
holds), both in one statement. Only orders created since the test began are judged, so one
test's findings stay its own.
"""

from __future__ import annotations

from datetime import datetime

import httpx

from kubepromises.waiting import NotYet, eventually
from suites import invariants
from suites.invariants import Books, Findings
from suites.resilience.live import selector
from testbed.cluster import Testbed
from testbed.kube import Kube, is_ready
from testbed.traffic import EVERY_BACKEND

DATABASE_TIMEOUT = 120.0


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


#: Per SKU, the shelf's units, and those plus the units held by reserved reservations, in one
#: statement (one snapshot: a reservation moves units between the two inside one transaction).
SHELF_AND_SUPPLY_SQL = (
    "SELECT p.sku, p.stock, p.stock + COALESCE((SELECT SUM((i->>'quantity')::int) "
    "FROM reservations r, jsonb_array_elements(r.items) i "
    "WHERE r.status = 'reserved' AND i->>'sku' = p.sku), 0) FROM products p ORDER BY p.sku"
)


def shelf_and_supply(testbed: Testbed, kube: Kube) -> tuple[dict[str, int], dict[str, int]]:
    """SKU → units on the shelf, and SKU → those plus the units reserved (constant while nobody
    restocks)."""
    rows = psql(testbed, kube, "inventory-db", "inventory", SHELF_AND_SUPPLY_SQL)
    return {sku: int(shelf) for sku, shelf, _ in rows}, {sku: int(n) for sku, _, n in rows}


def supply(testbed: Testbed, kube: Kube) -> dict[str, int]:
    """SKU → units on the shelf plus units reserved: the supply before a window."""
    return shelf_and_supply(testbed, kube)[1]


def books(testbed: Testbed, kube: Kube, since: datetime) -> Books:
    """The books of the orders created since `since`."""
    rows = psql(
        testbed,
        kube,
        "order-db",
        "orders",
        f"SELECT id, status FROM orders WHERE created_at >= '{since.isoformat()}'",
    )
    orders = {order_id: status for order_id, status in rows}
    holding: set[str] = set()
    if orders:
        keys = ",".join(f"'{order_id}'" for order_id in orders)
        holding = {
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
    shelf, units = shelf_and_supply(testbed, kube)
    return Books(orders=orders, stock=shelf, supply=units, holding=holding)


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
    return invariants.judge(books(testbed, kube, since), acknowledged, supply_before)


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
        invariants.wait_one_notification_each(api, confirmed)


def recount_once_each(gateway_url: str, confirmed: list[str]) -> None:
    """Each of `confirmed` (counted once each already) still has exactly one notification."""
    with httpx.Client(base_url=gateway_url, timeout=10) as api:
        invariants.recount_once_each(api, confirmed)
