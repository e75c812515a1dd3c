"""Helpers of the outbox relay's tests: an orders database of their own, events in its outbox,
and publish stand-ins for SQS."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from suites.system import servers
from suites.system.stack import Infra
from system.common import postgres
from system.order_service.store import SCHEMA, OutboxEvent


@dataclass(frozen=True)
class OrdersDatabase:
    """A database with order-service's schema that no running order-service relays from."""

    infra: Infra
    name: str

    @property
    def dsn(self) -> str:
        """As order-service connects (application_name demo-micro)."""
        return postgres.conninfo("127.0.0.1", self.infra.postgres_port, self.name, "demo", "")

    def add_events(self, count: int) -> list[int]:
        """`count` unsent OrderCreated events; their outbox ids, oldest first."""
        with self.infra.db(self.name) as conn:
            rows = conn.execute(
                """
                INSERT INTO outbox (event_id, event_type, payload, request_id)
                SELECT gen_random_uuid(), 'OrderCreated', %s, 'test' FROM generate_series(1, %s)
                RETURNING id
                """,
                (Jsonb({"event_type": "OrderCreated", "order": {"id": str(uuid.uuid4())}}), count),
            ).fetchall()
        return sorted(int(r[0]) for r in rows)

    def unsent(self) -> list[int]:
        with self.infra.db(self.name) as conn:
            rows = conn.execute("SELECT id FROM outbox WHERE sent_at IS NULL ORDER BY id")
            return [int(r[0]) for r in rows.fetchall()]

    def claimed(self) -> list[int]:
        """Events whose claim still holds."""
        with self.infra.db(self.name) as conn:
            rows = conn.execute(
                "SELECT id FROM outbox WHERE claimed_until >= now() ORDER BY id"
            ).fetchall()
            return [int(r[0]) for r in rows]


def new_orders_database(infra: Infra) -> OrdersDatabase:
    """A fresh database, the schema applied as a starting order-service applies it."""
    name = f"orders_{uuid.uuid4().hex[:10]}"
    servers.create_databases(infra.postgres_port, [name])
    with infra.db(name) as conn:
        conn.execute(SCHEMA)
    return OrdersDatabase(infra, name)


def drop(database: OrdersDatabase) -> None:
    with database.infra.db("postgres") as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database.name}" WITH (FORCE)')


@asynccontextmanager
async def relay_pool(database: OrdersDatabase, size: int = 1) -> AsyncIterator[AsyncConnectionPool]:
    """A pool as order-service's relay has (its own, `size` connections), opened and full."""
    pool = postgres.create_pool(database.dsn, max_size=size)
    await pool.open(wait=True)
    try:
        yield pool
    finally:
        await pool.close()


@dataclass
class RecordingPublish:
    """SQS as a publish callable: records the ids it accepted, taking `seconds` for each batch
    (so relays running at once overlap)."""

    seconds: float = 0.0
    published: list[int] = field(default_factory=list)

    async def __call__(self, events: list[OutboxEvent]) -> None:
        await asyncio.sleep(self.seconds)
        self.published += [e.id for e in events]


@dataclass
class BlockedPublish:
    """SQS slow or unreachable: a publish that waits until `release` is set."""

    started: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    published: list[int] = field(default_factory=list)

    async def __call__(self, events: list[OutboxEvent]) -> None:
        self.started.set()
        await self.release.wait()
        self.published += [e.id for e in events]


class FailingPublish:
    """SQS refusing: every publish raises."""

    async def __call__(self, events: list[OutboxEvent]) -> None:
        raise RuntimeError(f"SQS refused {len(events)} message(s) (a test's stand-in)")
