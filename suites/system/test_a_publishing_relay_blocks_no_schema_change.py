"""Promise: an outbox relay waiting on SQS blocks no schema change, and so no order.

A rollout's schema change (`ALTER TABLE outbox ADD COLUMN …`) needs the outbox table's ACCESS
EXCLUSIVE lock, and every order's finalize (it inserts into outbox) queues behind an ALTER that
waits. The relay used to select its rows FOR UPDATE and keep that transaction open while it
called SQS, which with botocore's retries takes tens of seconds when the queue is slow or gone:
an ALTER waited all that time, the orders behind it, and the relay's pooled connection sat idle
in transaction. Now it claims its rows in a short transaction and calls SQS with none open.

Here SQS is a publish that waits until the test lets it go; meanwhile another session asks for
the lock an ALTER needs, without waiting (NOWAIT), and reads the relay's session state. The
negative control runs the old pattern (`_relay_holding_the_transaction`, below): the lock is
refused.
"""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from suites.system.relaying import BlockedPublish, OrdersDatabase, relay_pool
from system.order_service.relay import BATCH_SIZE
from system.order_service.store import SCHEMA, OrderStore, OutboxEvent

EVENTS = 3
#: The claim of the relay under test; longer than the test, so it never lapses here.
CLAIM_SECONDS = 60.0
#: How long the test waits for the relay to reach its publish, and to finish once released.
WAIT_SECONDS = 10.0

Publish = Callable[[list[OutboxEvent]], Awaitable[None]]
Relay = Callable[[AsyncConnectionPool, Publish], Awaitable[int]]


async def _relay_claiming(pool: AsyncConnectionPool, publish: Publish) -> int:
    """order-service's relay: OrderStore.relay_outbox."""
    return await OrderStore(pool).relay_outbox(publish, BATCH_SIZE, CLAIM_SECONDS)


async def _relay_holding_the_transaction(pool: AsyncConnectionPool, publish: Publish) -> int:
    """The relay before claims: rows selected FOR UPDATE SKIP LOCKED, and the transaction kept
    open while publish runs; the rows marked sent in it once publish returned."""
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            """
            SELECT id, event_id, payload, request_id FROM outbox
            WHERE sent_at IS NULL ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED
            """,
            (BATCH_SIZE,),
        )
        events = [OutboxEvent(**row) for row in await cur.fetchall()]
        if not events:
            return 0
        await publish(events)
        await cur.execute(
            "UPDATE outbox SET sent_at = now() WHERE id = ANY(%s)", ([e.id for e in events],)
        )
        return len(events)


def _ask_for_the_alter_lock(database: OrdersDatabase) -> str:
    """What an ALTER TABLE on outbox would get now: "locked", or the error NOWAIT raised."""
    with database.infra.db(database.name) as conn:
        try:
            with conn.transaction():
                conn.execute("LOCK TABLE outbox IN ACCESS EXCLUSIVE MODE NOWAIT")
        except psycopg.errors.LockNotAvailable as exc:
            return type(exc).__name__
        return "locked"


def _relay_session_states(database: OrdersDatabase) -> list[str]:
    """pg_stat_activity's state of each session of the relay's pool (application_name
    demo-micro; the test's own sessions have none)."""
    with database.infra.db(database.name) as conn:
        rows = conn.execute(
            "SELECT state FROM pg_stat_activity"
            " WHERE datname = %s AND application_name = 'demo-micro'",
            (database.name,),
        ).fetchall()
    return sorted(str(r[0]) for r in rows)


def _while_publishing(database: OrdersDatabase, relay: Relay) -> dict[str, Any]:
    """Run `relay` over a few events with a publish that waits; while it waits, ask for the
    ALTER's lock and read the relay's session state; then let the publish go."""

    async def run() -> dict[str, Any]:
        async with relay_pool(database) as pool:
            publish = BlockedPublish()
            relaying = asyncio.ensure_future(relay(pool, publish))
            try:
                await asyncio.wait_for(publish.started.wait(), WAIT_SECONDS)
                lock = await asyncio.to_thread(_ask_for_the_alter_lock, database)
                states = await asyncio.to_thread(_relay_session_states, database)
            finally:
                publish.release.set()
            sent = await asyncio.wait_for(relaying, WAIT_SECONDS)
            return {"alter lock": lock, "relay sessions": states, "sent": sent}

    return asyncio.run(run())


def test_a_schema_change_gets_its_lock_while_the_relay_waits_on_sqs(
    orders_database: OrdersDatabase,
) -> None:
    # arrange
    events = orders_database.add_events(EVENTS)

    # act: the lock asked for while the relay's publish waits
    seen = _while_publishing(orders_database, _relay_claiming)

    # assert: granted at once, the relay's connection idle (no transaction), the events sent
    assert seen == {"alter lock": "locked", "relay sessions": ["idle"], "sent": len(events)}
    assert orders_database.unsent() == []


def test_negative_control_a_relay_holding_its_transaction_across_publish_blocks_the_lock(
    orders_database: OrdersDatabase,
) -> None:
    # arrange
    events = orders_database.add_events(EVENTS)

    # act: the same, with the relay as it was
    seen = _while_publishing(orders_database, _relay_holding_the_transaction)

    # assert: the lock refused, the relay's connection idle in transaction
    assert seen == {
        "alter lock": "LockNotAvailable",
        "relay sessions": ["idle in transaction"],
        "sent": len(events),
    }


def test_the_claim_column_comes_with_ddl_that_applies_over_itself(
    orders_database: OrdersDatabase,
) -> None:
    # arrange: a database with the schema and events (as one upgraded from before the claim)
    events = orders_database.add_events(EVENTS)

    # act: the schema applied again, as a pod whose DDL digest is new applies it
    with orders_database.infra.db(orders_database.name) as conn:
        conn.execute(SCHEMA)
        columns = conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'outbox'"
        ).fetchall()

    # assert: no error, the claim column there, the events unchanged
    assert ("claimed_until",) in columns
    assert orders_database.unsent() == events
