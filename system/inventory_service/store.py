"""The inventory database: products with stock, and reservations keyed for idempotency.

Overselling is impossible because a reservation locks its product rows in SKU order
(no deadlocks between reservations), checks every item and decrements in the same
transaction, and `stock >= 0` is also a CHECK constraint. The reservation row is inserted
first, so a concurrent request with the same key waits on it and then reads its result.
"""

from collections import defaultdict
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from system.common import postgres
from system.inventory_service.schemas import (
    Product,
    ProductUpsert,
    Reservation,
    ReservationItem,
    ReservationRequest,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS products (
    sku         text PRIMARY KEY,
    name        text NOT NULL,
    price_cents integer NOT NULL CHECK (price_cents >= 0),
    stock       integer NOT NULL CHECK (stock >= 0)
);
CREATE TABLE IF NOT EXISTS reservations (
    key        text PRIMARY KEY,
    status     text NOT NULL CHECK (status IN ('pending', 'reserved', 'rejected', 'released')),
    reason     text,
    items      jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO products (sku, name, price_cents, stock) VALUES
    ('SKU-KEYBOARD', 'Mechanical keyboard', 8900, 100),
    ('SKU-MOUSE', 'Wireless mouse', 2900, 200),
    ('SKU-MONITOR', '27-inch monitor', 27900, 25),
    ('SKU-CABLE', 'USB-C cable', 900, 1000),
    ('SKU-HEADSET', 'Headset', 5900, 50)
ON CONFLICT (sku) DO NOTHING;
"""


class UnknownSkus(Exception):
    """A reservation named SKUs that are not in the catalogue."""

    def __init__(self, skus: list[str]) -> None:
        super().__init__(f"unknown sku: {', '.join(skus)}")
        self.skus = skus


def _merge(items: list[ReservationItem]) -> dict[str, int]:
    """Quantities per SKU, duplicates added up, in SKU order (the lock order)."""
    totals: dict[str, int] = defaultdict(int)
    for item in items:
        totals[item.sku] += item.quantity
    return dict(sorted(totals.items()))


def _reservation(row: dict[str, Any]) -> Reservation:
    return Reservation(
        key=row["key"],
        status=row["status"],
        reason=row["reason"],
        items=[ReservationItem(**i) for i in row["items"]],
    )


class InventoryStore:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    async def list_products(self) -> list[Product]:
        async def query(conn: AsyncConnection[Any]) -> list[Product]:
            async with conn.cursor(row_factory=dict_row) as cur:
                await cur.execute("SELECT sku, name, price_cents, stock FROM products ORDER BY sku")
                return [Product(**row) for row in await cur.fetchall()]

        return await postgres.transaction(self._pool, query)

    async def get_product(self, sku: str) -> Product | None:
        async def query(conn: AsyncConnection[Any]) -> Product | None:
            async with conn.cursor(row_factory=dict_row) as cur:
                await cur.execute(
                    "SELECT sku, name, price_cents, stock FROM products WHERE sku = %s", (sku,)
                )
                row = await cur.fetchone()
                return Product(**row) if row else None

        return await postgres.transaction(self._pool, query)

    async def upsert_product(self, sku: str, data: ProductUpsert) -> Product:
        async def work(conn: AsyncConnection[Any]) -> Product:
            async with conn.cursor(row_factory=dict_row) as cur:
                await cur.execute(
                    """
                    INSERT INTO products (sku, name, price_cents, stock) VALUES (%s, %s, %s, %s)
                    ON CONFLICT (sku) DO UPDATE
                      SET name = EXCLUDED.name, price_cents = EXCLUDED.price_cents,
                          stock = EXCLUDED.stock
                    RETURNING sku, name, price_cents, stock
                    """,
                    (sku, data.name, data.price_cents, data.stock),
                )
                row = await cur.fetchone()
                assert row is not None
                return Product(**row)

        return await postgres.transaction(self._pool, work)

    async def reserve(self, request: ReservationRequest) -> tuple[Reservation, bool]:
        """Reserve all items or none; returns the reservation and whether it is new."""
        wanted = _merge(request.items)
        items_json = Jsonb([{"sku": s, "quantity": q} for s, q in wanted.items()])

        async def work(conn: AsyncConnection[Any]) -> tuple[Reservation, bool]:
            async with conn.cursor(row_factory=dict_row) as cur:
                await cur.execute(
                    """
                    INSERT INTO reservations (key, status, items) VALUES (%s, 'pending', %s)
                    ON CONFLICT (key) DO NOTHING RETURNING key
                    """,
                    (request.key, items_json),
                )
                if await cur.fetchone() is None:
                    # Same key seen before (possibly just committed by a concurrent request).
                    await cur.execute("SELECT * FROM reservations WHERE key = %s", (request.key,))
                    existing = await cur.fetchone()
                    assert existing is not None
                    return _reservation(existing), False

                await cur.execute(
                    "SELECT sku, stock FROM products WHERE sku = ANY(%s) ORDER BY sku FOR UPDATE",
                    (list(wanted),),
                )
                stock = {row["sku"]: row["stock"] for row in await cur.fetchall()}
                unknown = [sku for sku in wanted if sku not in stock]
                if unknown:
                    # Leaving the block with an exception rolls back the pending row too.
                    raise UnknownSkus(unknown)
                short = [sku for sku, qty in wanted.items() if stock[sku] < qty]
                if short:
                    status, reason = (
                        "rejected",
                        "insufficient stock for "
                        + ", ".join(
                            f"{sku} (requested {wanted[sku]}, available {stock[sku]})"
                            for sku in short
                        ),
                    )
                else:
                    status, reason = "reserved", None
                    await cur.executemany(
                        "UPDATE products SET stock = stock - %s WHERE sku = %s",
                        [(qty, sku) for sku, qty in wanted.items()],
                    )
                await cur.execute(
                    """
                    UPDATE reservations SET status = %s, reason = %s, updated_at = now()
                    WHERE key = %s RETURNING *
                    """,
                    (status, reason, request.key),
                )
                row = await cur.fetchone()
                assert row is not None
                return _reservation(row), True

        return await postgres.transaction(self._pool, work)

    async def get_reservation(self, key: str) -> Reservation | None:
        async def query(conn: AsyncConnection[Any]) -> Reservation | None:
            async with conn.cursor(row_factory=dict_row) as cur:
                await cur.execute("SELECT * FROM reservations WHERE key = %s", (key,))
                row = await cur.fetchone()
                return _reservation(row) if row else None

        return await postgres.transaction(self._pool, query)

    async def reserved_keys(self, older_than_seconds: float, after: str, limit: int) -> list[str]:
        """Keys after `after` (in key order) of reservations still holding stock, made at least
        `older_than_seconds` ago: a caller pages through them all with the last key it got."""
        async with self._pool.connection() as conn, conn.cursor() as cur:
            await cur.execute(
                """
                SELECT key FROM reservations
                WHERE status = 'reserved' AND key > %s
                  AND created_at < now() - make_interval(secs => %s)
                ORDER BY key LIMIT %s
                """,
                (after, older_than_seconds, limit),
            )
            return [str(row[0]) for row in await cur.fetchall()]

    async def release(self, key: str) -> Reservation:
        """Give reserved stock back once; releasing again (or a rejection) changes nothing.

        Releasing a key never seen leaves a `released` marker under it, so a reservation with
        that key arriving later (a request still in flight) is answered `released` and takes
        no stock: whoever releases an order's reservation wins over its late arrival.
        """

        async def work(conn: AsyncConnection[Any]) -> Reservation:
            async with conn.cursor(row_factory=dict_row) as cur:
                # Waits for a reservation of this key being made right now, then conflicts.
                await cur.execute(
                    """
                    INSERT INTO reservations (key, status, reason, items)
                    VALUES (%s, 'released', 'released before it was reserved', '[]')
                    ON CONFLICT (key) DO NOTHING RETURNING *
                    """,
                    (key,),
                )
                marker = await cur.fetchone()
                if marker is not None:
                    return _reservation(marker)
                await cur.execute("SELECT * FROM reservations WHERE key = %s FOR UPDATE", (key,))
                row = await cur.fetchone()
                assert row is not None, "a conflicting key implies a committed row"
                if row["status"] != "reserved":
                    return _reservation(row)
                items = sorted(row["items"], key=lambda i: i["sku"])
                await cur.executemany(
                    "UPDATE products SET stock = stock + %s WHERE sku = %s",
                    [(i["quantity"], i["sku"]) for i in items],
                )
                await cur.execute(
                    """
                    UPDATE reservations SET status = 'released', updated_at = now()
                    WHERE key = %s RETURNING *
                    """,
                    (key,),
                )
                released = await cur.fetchone()
                assert released is not None
                return _reservation(released)

        return await postgres.transaction(self._pool, work)
