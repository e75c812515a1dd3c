"""The order flow's books after a load run, read through the API, for the one checker
(suites/invariants.py): the orders created since the run began, and the stock before and after,
from reads the gateway did not serve from its cache. The API shows no reservation: a confirmed
order holds its items' units, a rejected one none, so the supply after the run is the shelf
plus the units of the run's confirmed orders, and the supply before it the shelf alone."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx

from kubepromises.waiting import NotYet, eventually
from suites.invariants import Books, held_units

#: Above the gateway's catalogue cache TTL (CACHE_TTL_SECONDS: 5 in the manifests, 30 locally).
FRESH_READ_TIMEOUT = 60.0
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


def books(after: dict[str, int], orders: list[dict[str, Any]]) -> Books:
    """The run's books: `orders` as the API lists them, and the shelf `after` the run. (The
    supply before the run is the shelf before it.)"""
    held = held_units(
        ((item["sku"], item["quantity"]) for item in order["items"])
        for order in orders
        if order["status"] == "confirmed"
    )
    supply = {sku: after.get(sku, 0) + held[sku] for sku in after.keys() | held.keys()}
    statuses = {str(order["id"]): str(order["status"]) for order in orders}
    return Books(orders=statuses, stock=after, supply=supply)
