"""The orders database: orders keyed by customer and Idempotency-Key, and the transactional outbox.

An order is first claimed as `pending` under its idempotency key, then finalised as
confirmed or rejected together with its OrderCreated outbox row in one transaction, so an
event exists exactly when a final order does. Only the request that moves the order out of
`pending` writes the event.
"""

import hashlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection, AsyncCursor
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from system.common import postgres
from system.order_service.schemas import Order, OrderItem, OrderRequest

SCHEMA = """
-- A statement that waits this long for its table's lock gives up, and the whole schema is
-- tried again (postgres.Schema): orders never queue behind a migration for longer.
SET LOCAL lock_timeout = '2s';
CREATE TABLE IF NOT EXISTS orders (
    id              uuid PRIMARY KEY,
    idempotency_key text NOT NULL,
    request_hash    text NOT NULL,
    customer_email  text NOT NULL,
    items           jsonb NOT NULL,
    status          text NOT NULL CHECK (status IN ('pending', 'confirmed', 'rejected')),
    reason          text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS orders_newest_first ON orders (created_at DESC, id);
CREATE TABLE IF NOT EXISTS outbox (
    id         bigserial PRIMARY KEY,
    event_id   uuid NOT NULL UNIQUE,
    event_type text NOT NULL,
    payload    jsonb NOT NULL,
    request_id text,
    created_at timestamptz NOT NULL DEFAULT now(),
    sent_at    timestamptz
);
CREATE INDEX IF NOT EXISTS outbox_unsent ON outbox (id) WHERE sent_at IS NULL;
-- Set once notification-service has the event's notification (delivery.py): until then a sent
-- event may have been lost with a queue that restarted, and is sent again.
ALTER TABLE outbox ADD COLUMN IF NOT EXISTS delivered_at timestamptz;
CREATE INDEX IF NOT EXISTS outbox_undelivered ON outbox (sent_at)
    WHERE sent_at IS NOT NULL AND delivered_at IS NULL;
-- A relay publishing an unsent event claims it until then (relay_outbox): no other replica takes
-- it meanwhile, and no transaction stays open while SQS is called.
ALTER TABLE outbox ADD COLUMN IF NOT EXISTS claimed_until timestamptz;
-- An idempotency key is the customer's own and lasts IDEMPOTENCY_TTL_SECONDS: one order per
-- customer and key among the keys not released, and a key past its time is released (the
-- order keeps it, for the record) when it is used again. On a database of global keys
-- (`UNIQUE (idempotency_key)`) this adds a column without a default (no rewrite), builds the
-- index (orders wait for the build: milliseconds for thousands of orders) and then drops the
-- global one. A pod of the previous version still running then fails its orders with a 500
-- (its ON CONFLICT names the dropped constraint) until the rollout replaces it; a retry with
-- the same key reaches a new pod and places the order once.
ALTER TABLE orders ADD COLUMN IF NOT EXISTS key_released_at timestamptz;
CREATE UNIQUE INDEX IF NOT EXISTS orders_customer_key ON orders (customer_email, idempotency_key)
    WHERE key_released_at IS NULL;
ALTER TABLE orders DROP CONSTRAINT IF EXISTS orders_idempotency_key_key;
"""

log = logging.getLogger(__name__)

ORDER_COLUMNS = "id, status, reason, customer_email, items, created_at"


class IdempotencyKeyReused(Exception):
    """The key was already used for a different request body."""


@dataclass(frozen=True)
class OutboxEvent:
    id: int
    event_id: UUID
    payload: dict[str, Any]
    request_id: str | None


def request_hash(body: OrderRequest) -> str:
    canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _order(row: dict[str, Any]) -> Order:
    return Order(
        id=row["id"],
        status=row["status"],
        reason=row["reason"],
        customer_email=row["customer_email"],
        items=[OrderItem(**i) for i in row["items"]],
        created_at=row["created_at"],
    )


def order_created_event(order: Order) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "event_type": "OrderCreated",
        "occurred_at": datetime.now(UTC).isoformat(),
        "order": order.model_dump(mode="json"),
    }


#: A final status and its reason.
Decision = tuple[str, str | None]

#: How often a claim retries a key whose conflicting order vanished before it was read.
CLAIM_ATTEMPTS = 3


async def _finalize(
    cur: AsyncCursor[dict[str, Any]],
    order_id: UUID,
    status: str,
    reason: str | None,
    request_id: str | None,
) -> Order:
    """finalize() inside the caller's transaction."""
    await cur.execute(
        f"""
        UPDATE orders SET status = %s, reason = %s, updated_at = now()
        WHERE id = %s AND status = 'pending'
        RETURNING {ORDER_COLUMNS}
        """,
        (status, reason, order_id),
    )
    row = await cur.fetchone()
    if row is None:
        # A concurrent retry of the same request (or the reconciler) finalised it first.
        await cur.execute(f"SELECT {ORDER_COLUMNS} FROM orders WHERE id = %s", (order_id,))
        row = await cur.fetchone()
        assert row is not None
        return _order(row)
    order = _order(row)
    event = order_created_event(order)
    await cur.execute(
        """
        INSERT INTO outbox (event_id, event_type, payload, request_id)
        VALUES (%s, %s, %s, %s)
        """,
        (event["event_id"], event["event_type"], Jsonb(event), request_id),
    )
    return order


class OrderStore:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    async def claim(
        self, key: str, body: OrderRequest, key_ttl_seconds: float
    ) -> tuple[Order, bool]:
        """The customer's order for this key, inserted as pending if new (or if the key is older
        than `key_ttl_seconds`); (order, created)."""
        digest = request_hash(body)
        items = Jsonb([i.model_dump() for i in body.items])

        async def work(conn: AsyncConnection[Any]) -> tuple[Order, bool]:
            async with conn.cursor(row_factory=dict_row) as cur:
                # The conflicting row can vanish before it is read: a pending order discarded
                # (unknown SKU) by the request that made it. Then this key is free again; so it is
                # once expired, after its order is released from it.
                for _ in range(CLAIM_ATTEMPTS):
                    await cur.execute(
                        f"""
                        INSERT INTO orders (id, idempotency_key, request_hash, customer_email,
                                            items, status)
                        VALUES (%s, %s, %s, %s, %s, 'pending')
                        ON CONFLICT (customer_email, idempotency_key) WHERE key_released_at IS NULL
                        DO NOTHING
                        RETURNING {ORDER_COLUMNS}
                        """,
                        (uuid.uuid4(), key, digest, body.customer_email, items),
                    )
                    row = await cur.fetchone()
                    if row is not None:
                        return _order(row), True
                    await cur.execute(
                        f"""
                        SELECT {ORDER_COLUMNS}, request_hash,
                               created_at < now() - make_interval(secs => %s) AS expired
                        FROM orders
                        WHERE customer_email = %s AND idempotency_key = %s
                          AND key_released_at IS NULL
                        """,
                        (key_ttl_seconds, body.customer_email, key),
                    )
                    row = await cur.fetchone()
                    if row is None:
                        continue
                    # A pending order keeps its key until it is final (the reconciler's bound).
                    if row["expired"] and row["status"] != "pending":
                        await cur.execute(
                            "UPDATE orders SET key_released_at = now()"
                            " WHERE id = %s AND key_released_at IS NULL",
                            (row["id"],),
                        )
                        continue
                    if row["request_hash"] != digest:
                        raise IdempotencyKeyReused(key)
                    return _order(row), False
            raise RuntimeError(
                f"Idempotency-Key {key}: claimed and discarded {CLAIM_ATTEMPTS} times"
            )

        return await postgres.transaction(self._pool, work)

    async def finalize(
        self, order_id: UUID, status: str, reason: str | None, request_id: str | None
    ) -> Order:
        """Move a pending order to its final status and record OrderCreated, atomically."""

        async def work(conn: AsyncConnection[Any]) -> Order:
            async with conn.cursor(row_factory=dict_row) as cur:
                return await _finalize(cur, order_id, status, reason, request_id)

        return await postgres.transaction(self._pool, work)

    async def finish_overdue(
        self,
        older_than_seconds: float,
        limit: int,
        decide: Callable[[Order], Awaitable[Decision | None]],
        request_id: str,
    ) -> list[Order]:
        """Finalise the orders pending for longer than `older_than_seconds` as `decide` says
        (None: leave it pending); returns the orders finalised.

        The orders stay locked while `decide` runs (SKIP LOCKED: another replica takes other
        orders, never the same one), and a request finalising one of them waits, then finds
        it final.
        """
        async with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(
                f"""
                SELECT {ORDER_COLUMNS} FROM orders
                WHERE status = 'pending' AND created_at < now() - make_interval(secs => %s)
                ORDER BY created_at LIMIT %s FOR UPDATE SKIP LOCKED
                """,
                (older_than_seconds, limit),
            )
            finished = []
            for row in await cur.fetchall():
                order = _order(row)
                decision = await decide(order)
                if decision is not None:
                    status, reason = decision
                    finished.append(await _finalize(cur, order.id, status, reason, request_id))
            return finished

    async def existing(self, order_ids: list[UUID]) -> set[UUID]:
        """Which of these orders exist."""

        async def query(conn: AsyncConnection[Any]) -> set[UUID]:
            async with conn.cursor() as cur:
                await cur.execute("SELECT id FROM orders WHERE id = ANY(%s)", (order_ids,))
                return {row[0] for row in await cur.fetchall()}

        return await postgres.transaction(self._pool, query)

    async def discard_pending(self, order_id: UUID) -> None:
        """Forget an order that turned out invalid (e.g. unknown SKU) before it was final."""

        async def work(conn: AsyncConnection[Any]) -> None:
            await conn.execute(
                "DELETE FROM orders WHERE id = %s AND status = 'pending'", (order_id,)
            )

        return await postgres.transaction(self._pool, work)

    async def get(self, order_id: UUID) -> Order | None:
        async def query(conn: AsyncConnection[Any]) -> Order | None:
            async with conn.cursor(row_factory=dict_row) as cur:
                await cur.execute(f"SELECT {ORDER_COLUMNS} FROM orders WHERE id = %s", (order_id,))
                row = await cur.fetchone()
                return _order(row) if row else None

        return await postgres.transaction(self._pool, query)

    async def page(self, limit: int, offset: int) -> tuple[list[Order], int]:
        async def query(conn: AsyncConnection[Any]) -> tuple[list[Order], int]:
            async with conn.cursor(row_factory=dict_row) as cur:
                await cur.execute(
                    f"""
                    SELECT {ORDER_COLUMNS} FROM orders
                    ORDER BY created_at DESC, id LIMIT %s OFFSET %s
                    """,
                    (limit, offset),
                )
                rows = await cur.fetchall()
                await cur.execute("SELECT count(*) AS n FROM orders")
                total = await cur.fetchone()
                assert total is not None
                return [_order(r) for r in rows], int(total["n"])

        return await postgres.transaction(self._pool, query)

    async def relay_outbox(
        self,
        publish: Callable[[list[OutboxEvent]], Awaitable[None]],
        batch_size: int,
        claim_seconds: float,
    ) -> int:
        """Publish the oldest unsent events and mark them sent; returns how many.

        Three steps, each transaction short and none open while `publish` runs (it calls SQS,
        which can take tens of seconds when the queue is slow or gone):

        1. claim: unsent events that nobody claims (or whose claim lapsed) get `claimed_until`
           = now + `claim_seconds`, committed at once. SKIP LOCKED and the claim let another
           replica take other events, never these, while the claim lasts;
        2. `publish`, with the connection back in the pool;
        3. mark them sent (and unclaimed). If `publish` raised, the claim is released instead, so
           the next round sends them again.

        Held open across `publish`, the transaction kept the rows and the table locked: a
        schema change (ALTER TABLE) waited behind it, and every order's finalize behind the
        ALTER. Delivery stays at-least-once: an event is marked sent only after `publish`
        returned. A claim that lapses while its `publish` still runs (longer than
        `claim_seconds`), or whose relay died mid-publish, is taken by the next relay and the
        event sent again; notification-service keeps one notification per order, so a resend
        never makes a second one. A relay cancelled mid-publish (shutdown), or one that cannot
        mark its events sent (the database gone), leaves its claim to lapse: the SQS call may
        have gone through, or still go through, and a resend is the safe side.
        """
        async with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(
                """
                UPDATE outbox SET claimed_until = now() + make_interval(secs => %s)
                WHERE id IN (
                    SELECT id FROM outbox
                    WHERE sent_at IS NULL AND (claimed_until IS NULL OR claimed_until < now())
                    ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED
                )
                RETURNING id, event_id, payload, request_id, claimed_until
                """,
                (claim_seconds, batch_size),
            )
            rows = await cur.fetchall()
        if not rows:
            return 0
        # One transaction's now(): the same for every row, and this claim's own.
        claim: datetime = rows[0]["claimed_until"]
        events = sorted(
            (OutboxEvent(r["id"], r["event_id"], r["payload"], r["request_id"]) for r in rows),
            key=lambda e: e.id,
        )
        ids = [e.id for e in events]
        try:
            await publish(events)
        except Exception:
            await self._release_claim(ids, claim)
            raise
        async with self._pool.connection() as conn:
            await conn.execute(
                """
                UPDATE outbox SET sent_at = now(), claimed_until = NULL
                WHERE id = ANY(%s) AND sent_at IS NULL
                """,
                (ids,),
            )
        return len(events)

    async def _release_claim(self, ids: list[int], claim: datetime) -> None:
        """Let the next round take these events again (unless another relay claimed them since:
        then they are its). If the database cannot be told, the claim lapses by itself."""
        try:
            async with self._pool.connection() as conn:
                await conn.execute(
                    """
                    UPDATE outbox SET claimed_until = NULL
                    WHERE id = ANY(%s) AND sent_at IS NULL AND claimed_until = %s
                    """,
                    (ids, claim),
                )
        except Exception as exc:
            log.warning(
                "could not release the relay's claim; it lapses by itself",
                extra={"error": f"{type(exc).__name__}: {exc}", "count": len(ids)},
            )

    async def sent_not_delivered(self, older_than_seconds: float, limit: int) -> dict[int, str]:
        """Outbox id → order id of events sent at least `older_than_seconds` ago whose
        notification has not been seen yet, oldest first."""
        async with self._pool.connection() as conn, conn.cursor() as cur:
            await cur.execute(
                """
                SELECT id, payload->'order'->>'id' FROM outbox
                WHERE sent_at IS NOT NULL AND delivered_at IS NULL
                  AND sent_at < now() - make_interval(secs => %s)
                ORDER BY sent_at LIMIT %s
                """,
                (older_than_seconds, limit),
            )
            return {int(row[0]): str(row[1]) for row in await cur.fetchall()}

    async def settle(self, delivered: list[int], lost: list[int]) -> None:
        """Mark events delivered, and put lost ones back in line for the relay."""
        async with self._pool.connection() as conn:
            await conn.execute(
                "UPDATE outbox SET delivered_at = now() WHERE id = ANY(%s)", (delivered,)
            )
            await conn.execute(
                """
                UPDATE outbox SET sent_at = NULL, claimed_until = NULL
                WHERE id = ANY(%s) AND delivered_at IS NULL
                """,
                (lost,),
            )
