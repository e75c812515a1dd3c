"""order-service: wiring only."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI

from system.common import postgres
from system.common.app import create_service_app
from system.common.health import DependencyCheck
from system.common.http_client import pooled_client
from system.common.sqs import SqsQueue
from system.order_service.api import router
from system.order_service.config import Settings
from system.order_service.delivery import DeliveryCheck, NotificationsClient
from system.order_service.inventory import InventoryClient
from system.order_service.reconciler import PendingReconciler
from system.order_service.relay import OutboxRelay
from system.order_service.store import SCHEMA, OrderStore

SERVICE = "order-service"
#: botocore's read timeout on order-service's SQS calls (the relay's claim is derived from it).
SQS_READ_TIMEOUT_SECONDS = 5.0


async def once_applied(schema: postgres.Schema, work: Callable[[], Awaitable[None]]) -> None:
    """`work`, once the schema is in place (the background tasks read and write its tables)."""
    await schema.applied.wait()
    await work()


def create_app(settings: Settings) -> FastAPI:
    dsn = postgres.conninfo(
        settings.order_db_host,
        settings.order_db_port,
        settings.order_db_name,
        settings.order_db_user,
        settings.order_db_password.get_secret_value(),
    )
    pool = postgres.create_pool(dsn, max_size=settings.db_pool_size)
    schema = postgres.Schema(pool, SCHEMA)
    # Two background tasks wait on another service. The reconciler keeps its connection (overdue
    # orders locked) while inventory-service is asked, up to 20 in turn; the outbox relay kept
    # its connection (rows locked) until SQS had answered, and now holds none while it waits
    # (store.relay_outbox). An SQS that did not answer — down, or its name not resolving while
    # DNS was out (a lookup with no answer blocks ~40 s, which botocore's timeouts do not
    # bound) — kept the relay's connection that long, and the requests' pool, which could not
    # open new connections without DNS either, ran dry: order reads answered 503 PoolTimeout
    # (docs/live-suites.md, "Faults"). So those two have a pool of their own, one connection
    # each, and requests never wait behind them.
    background_pool = postgres.create_pool(dsn, max_size=2)
    queue = SqsQueue(
        queue_name=settings.sqs_queue_name,
        endpoint_url=settings.aws_endpoint_url,
        region=settings.aws_default_region,
        access_key_id=settings.aws_access_key_id,
        secret_access_key=settings.aws_secret_access_key.get_secret_value(),
        read_timeout=SQS_READ_TIMEOUT_SECONDS,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await pool.open(wait=False)
        await background_pool.open(wait=False)
        http = pooled_client(connect=2.0, read=settings.inventory_timeout_seconds, pool=5.0)
        store = OrderStore(pool)
        background = OrderStore(background_pool)
        relay = OutboxRelay(
            background,
            queue,
            settings.outbox_poll_seconds,
            settings.outbox_max_backoff_seconds,
            settings.outbox_claim_seconds,
        )
        app.state.store = store
        app.state.listing_token = settings.listing_token.get_secret_value()
        app.state.inventory = InventoryClient(http, settings.inventory_service_url)
        app.state.relay = relay
        reconciler = PendingReconciler(
            background,
            app.state.inventory,
            relay.wake,
            settings.pending_bound_seconds,
            settings.reconcile_every_seconds,
        )
        app.state.reconciler = reconciler
        app.state.order_deadline_seconds = settings.order_deadline_seconds
        app.state.read_deadline_seconds = settings.read_deadline_seconds
        app.state.idempotency_ttl_seconds = settings.idempotency_ttl_seconds
        delivery = DeliveryCheck(
            store,
            NotificationsClient(http, settings.notification_service_url),
            queue.depth,
            relay.wake,
            settings.resend_undelivered_after_seconds,
            settings.delivery_check_seconds,
        )
        tasks = [
            asyncio.create_task(schema.apply(), name="schema"),
            asyncio.create_task(once_applied(schema, relay.run), name="outbox-relay"),
            asyncio.create_task(once_applied(schema, delivery.run), name="delivery-check"),
            asyncio.create_task(once_applied(schema, reconciler.run), name="pending-reconciler"),
        ]
        yield
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await http.aclose()
        await background_pool.close()
        await pool.close()

    # Readiness is the database and the schema in it only: orders are accepted while SQS is down
    # (the outbox holds the events), and inventory outages are answered per request with a 503.
    return create_service_app(
        service=SERVICE,
        settings=settings,
        routers=[router],
        checks=[
            DependencyCheck("order-db", lambda: postgres.ping(pool)),
            DependencyCheck("schema", schema.check),
        ],
        lifespan=lifespan,
    )
