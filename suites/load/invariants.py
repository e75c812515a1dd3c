"""What must hold after a load run, read back through the API: no oversell, no order lost or
invented, one notification per confirmed order."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from kubepromises.waiting import NotYet, eventually

#: Above the gateway's catalogue cache TTL (CACHE_TTL_SECONDS: 5 in the manifests, 30 locally).
FRESH_READ_TIMEOUT = 60.0
#: Notifications go through the outbox relay, the queue and the consumer.
NOTIFICATION_TIMEOUT = 60.0
PAGE = 100


def stock_levels(client: httpx.Client, path: str) -> dict[str, int]:
    """Stock per SKU as inventory-service has it now: a read the gateway did not serve from its
    cache (X-Cache: hit could predate the last orders by up to the cache TTL)."""

    def fresh() -> dict[str, int]:
        response = client.get(path)
        response.raise_for_status()
        if response.headers.get("x-cache") == "hit":
            raise NotYet("a cached catalogue (X-Cache: hit)")
        return {p["sku"]: p["stock"] for p in response.json()}

    return eventually(
        fresh,
        timeout=FRESH_READ_TIMEOUT,
        interval=1.0,
        what=f"an uncached read of {path}",
        hint="the gateway's cache entry should expire after CACHE_TTL_SECONDS",
    )


def orders_since(client: httpx.Client, since: datetime) -> list[dict[str, Any]]:
    """Every order created at or after `since`, paging /api/orders (newest first)."""
    found: list[dict[str, Any]] = []
    offset = 0
    while True:
        response = client.get("/api/orders", params={"limit": PAGE, "offset": offset})
        response.raise_for_status()
        page = response.json()["items"]
        found += [o for o in page if datetime.fromisoformat(o["created_at"]) >= since]
        if len(page) < PAGE or datetime.fromisoformat(page[-1]["created_at"]) < since:
            return found
        offset += PAGE


def confirmed_units(orders: list[dict[str, Any]]) -> Counter[str]:
    """Units per SKU that confirmed orders took off the shelf."""
    units: Counter[str] = Counter()
    for order in orders:
        if order["status"] == "confirmed":
            for item in order["items"]:
                units[item["sku"]] += item["quantity"]
    return units


@dataclass(frozen=True)
class StockAccount:
    before: dict[str, int]
    after: dict[str, int]
    confirmed: Counter[str]

    def oversold(self) -> list[str]:
        """SKUs below zero, confirmed beyond their stock, or whose stock moved by other than the
        confirmed units (a reservation lost or counted twice)."""
        problems = []
        for sku, start in self.before.items():
            end, taken = self.after.get(sku, 0), self.confirmed[sku]
            if end < 0 or taken > start or start - end != taken:
                problems.append(f"{sku}: stock {start} -> {end}, {taken} units confirmed")
        problems += [f"{sku}: not in the catalogue" for sku in self.confirmed - self.before.keys()]
        return problems


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
