"""notification-service: wiring only."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from pymongo import AsyncMongoClient, monitoring

from system.common import retrying
from system.common.app import create_service_app
from system.common.health import DependencyCheck, StuckCheck
from system.common.mongo_monitor import HeartbeatWatch
from system.common.sqs import SqsQueue
from system.notification_service.api import router
from system.notification_service.config import Settings
from system.notification_service.consumer import EventConsumer
from system.notification_service.store import NotificationStore

SERVICE = "notification-service"

log = logging.getLogger(__name__)


def mongo_client(
    settings: Settings, listeners: Sequence[monitoring.ServerHeartbeatListener] = ()
) -> AsyncMongoClient[dict[str, Any]]:
    credentials: dict[str, Any] = {}
    if settings.mongodb_username:
        mechanism = settings.mongodb_auth_mechanism.upper()
        credentials = {
            "username": settings.mongodb_username,
            "password": settings.mongodb_password.get_secret_value(),
            "authSource": "$external" if mechanism == "PLAIN" else settings.mongodb_auth_source,
        }
        if mechanism:
            credentials["authMechanism"] = mechanism
    return AsyncMongoClient(
        settings.mongodb_host,
        settings.mongodb_port,
        serverSelectionTimeoutMS=3000,
        connectTimeoutMS=3000,
        socketTimeoutMS=10000,
        tz_aware=True,
        event_listeners=listeners,
        **credentials,
    )


async def prepare(store: NotificationStore, max_backoff: float) -> None:
    """The collection's indexes, tried again until MongoDB answers, then the re-keying of older
    documents. In the background, so that a MongoDB out of reach (not started yet, or stranded
    on a lost node) leaves the pod up and not Ready instead of failing its start-up: a pod that
    crash-loops waits out a growing back-off (up to 5 min) after MongoDB is back (seen on 3 Dec
    2026: notification-db stranded on a paused node, the replacements in CrashLoopBackOff).
    Nothing waits for this to be correct: the consumer ensures the unique index before each
    batch, and reads are by key."""
    await retrying.until_done(
        store.prepare,
        "preparing the notifications collection",
        first_pause=0.5,
        max_pause=max_backoff,
    )
    await rekey(store)


async def rekey(store: NotificationStore) -> None:
    """Re-keys the documents stored before the order id was the key (the next start tries again
    if this one fails)."""
    try:
        moved = await store.adopt_order_ids()
    except Exception as exc:
        log.warning("re-keying notifications failed", extra={"error": repr(exc)})
        return
    if moved:
        log.info("notifications re-keyed by order id", extra={"documents": moved})


def create_app(settings: Settings) -> FastAPI:
    watch = HeartbeatWatch(settings.mongodb_monitor_silence_seconds)
    client = mongo_client(settings, [watch])
    store = NotificationStore(client, settings.mongodb_database)
    queue = SqsQueue(
        queue_name=settings.sqs_queue_name,
        endpoint_url=settings.aws_endpoint_url,
        region=settings.aws_default_region,
        access_key_id=settings.aws_access_key_id,
        secret_access_key=settings.aws_secret_access_key.get_secret_value(),
        read_timeout=settings.sqs_wait_seconds + 5,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.store = store
        app.state.read_deadline_seconds = settings.read_deadline_seconds
        app.state.listing_token = settings.listing_token.get_secret_value()
        consumer = EventConsumer(
            queue, store, settings.sqs_wait_seconds, settings.consumer_max_backoff_seconds
        )
        tasks = [
            asyncio.create_task(consumer.run(), name="sqs-consumer"),
            # In the background: MongoDB may be out of reach, and thousands of older documents
            # take minutes to re-key, longer than the startup probe waits (2 Dec 2026: 5,000).
            asyncio.create_task(
                prepare(store, settings.consumer_max_backoff_seconds), name="preparing"
            ),
        ]
        yield
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await client.close()

    # Readiness is MongoDB only: notifications stay readable while SQS is down, and the
    # consumer catches up by itself when it returns.
    return create_service_app(
        service=SERVICE,
        settings=settings,
        routers=[router],
        checks=[DependencyCheck("notification-db", store.ping, store.servers_seen)],
        stuck_checks=[StuckCheck("notification-db client", watch.silence)],
        lifespan=lifespan,
    )
