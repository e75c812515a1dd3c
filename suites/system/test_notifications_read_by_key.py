"""Promise: an order's notification is stored and read by its key, through an index, so the cost
of either does not grow with the number of notifications; and notifications stored before the
order id was the key are re-keyed, not lost.

The stand-in here is the one the air-gapped testbed runs: FerretDB on SQLite, built with the
patches in airgap/go/patches/. Unpatched, FerretDB hands only `_id` equality to SQLite (its
explain's `filterPushdown`) and reads the whole collection for any other filter, `_id` `$in`
included; the patches make SQLite answer both from the `_id` index (the plan's `USING INDEX`).
The negative control is the read as it was before (`order_id` `$in`): not handed to SQLite.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pymongo
import pytest
from bson import ObjectId
from pymongo import AsyncMongoClient

from suites.system.stack import Infra
from system.notification_service.schemas import OrderCreated
from system.notification_service.store import (
    COLLECTION,
    REKEYING,
    NotificationStore,
    orders_filter,
)


@pytest.fixture
def database(infra: Infra) -> Iterator[str]:
    """A database of its own, dropped after the test."""
    name = f"keys_{uuid.uuid4().hex[:8]}"
    yield name
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(
        "127.0.0.1", infra.mongo_port, serverSelectionTimeoutMS=5000
    )
    client.drop_database(name)
    client.close()


def run_with_store(infra: Infra, database: str, work: Any) -> Any:
    """Runs `work(store, collection)` on a fresh client; returns what it returns."""

    async def main() -> Any:
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
            "127.0.0.1", infra.mongo_port, serverSelectionTimeoutMS=5000, tz_aware=True
        )
        try:
            store = NotificationStore(client, database)
            await store.prepare()
            return await work(store, client[database][COLLECTION])
        finally:
            await client.close()

    return asyncio.run(main())


def event(order_id: uuid.UUID) -> OrderCreated:
    return OrderCreated.model_validate(
        {
            "event_id": str(uuid.uuid4()),
            "event_type": "OrderCreated",
            "order": {
                "id": str(order_id),
                "customer_email": "key@x.example",
                "status": "confirmed",
            },
        }
    )


def plan(collection: Any, query: dict[str, Any]) -> Any:
    """How FerretDB runs `query`: (handed to its database?, SQLite's query plan)."""

    async def explain() -> tuple[bool, str]:
        answer = await collection.database.command(
            "explain", {"find": collection.name, "filter": query, "limit": 1}
        )
        return answer["filterPushdown"], " ".join(answer["queryPlanner"]["Plan"])

    return explain()


def test_storing_and_reading_one_orders_notification_are_lookups_by_key(
    infra: Infra, database: str
) -> None:
    # arrange: an order's notification stored as notification-service stores it
    order_id = uuid.uuid4()

    async def work(store: NotificationStore, collection: Any) -> tuple[Any, Any, list[Any]]:
        assert await store.record(event(order_id))
        stored = await collection.find_one({"order_id": str(order_id)})
        # act: the read notification-service makes for one order, and how the stand-in runs it
        found = await store.for_orders([order_id], 10)
        return stored, await plan(collection, orders_filter([order_id])), found

    stored, (pushed_down, query_plan), found = run_with_store(infra, database, work)

    # assert: keyed by the order id, read by that key through the _id index, and found
    assert stored["_id"] == str(order_id)
    assert pushed_down is True
    assert "USING INDEX" in query_plan, query_plan
    assert [n.order_id for n in found] == [order_id]


def test_the_delivery_checks_read_of_several_orders_is_a_lookup_by_key(
    infra: Infra, database: str
) -> None:
    # arrange: three orders notified, one not (order-service's delivery check asks for up to
    # 100 orders at once, every 10 s while events are unsettled)
    notified = [uuid.uuid4() for _ in range(3)]
    asked = [*notified, uuid.uuid4()]

    async def work(store: NotificationStore, collection: Any) -> tuple[Any, list[Any]]:
        for order_id in notified:
            assert await store.record(event(order_id))
        # act: the read, and how the stand-in runs it
        found = await store.for_orders(asked, 100)
        return await plan(collection, orders_filter(asked)), found

    (pushed_down, query_plan), found = run_with_store(infra, database, work)

    # assert: handed to SQLite and answered from the _id index; exactly the notified orders
    assert pushed_down is True
    assert "USING INDEX" in query_plan, query_plan
    assert sorted(n.order_id for n in found) == sorted(notified)


def test_negative_control_the_read_by_order_id_field_scans_the_collection(
    infra: Infra, database: str
) -> None:
    # arrange / act: the read as it was before the order id became the key
    order_id = str(uuid.uuid4())

    async def work(store: NotificationStore, collection: Any) -> Any:
        return await plan(collection, {"order_id": {"$in": [order_id]}})

    # assert: the stand-in does not hand it to SQLite: it reads every document
    pushed_down, query_plan = run_with_store(infra, database, work)
    assert pushed_down is False
    assert "USING INDEX" not in query_plan, query_plan


def test_notifications_stored_under_a_generated_key_are_re_keyed_once_and_still_unique(
    infra: Infra, database: str
) -> None:
    # arrange: two notifications as the previous version stored them (a generated ObjectId), and
    # a third that a start-up crashed while re-keying (marked, not yet stored under its key)
    old_ids = [uuid.uuid4(), uuid.uuid4(), uuid.uuid4()]
    marked = {old_ids[2]: REKEYING}

    async def work(store: NotificationStore, collection: Any) -> tuple[int, int, list[Any], bool]:
        for order_id in old_ids:
            await collection.insert_one(
                {
                    "_id": ObjectId(),
                    "order_id": marked.get(order_id, "") + str(order_id),
                    "event_id": str(uuid.uuid4()),
                    "customer_email": "old@example.com",
                    "order_status": "confirmed",
                    "message": "stored before the key changed",
                    "created_at": datetime.now(UTC),
                }
            )
        # act: two replicas' start-ups, one after the other, then the event delivered again
        first = await store.adopt_order_ids()
        second = await store.adopt_order_ids()
        again = await store.record(event(old_ids[0]))
        keys = sorted([d["_id"] async for d in collection.find({})])
        return first, second, keys, again

    first, second, keys, again = run_with_store(infra, database, work)

    # assert: all re-keyed by the first, none by the second, no duplicate from the redelivery
    assert (first, second) == (3, 0)
    assert keys == sorted(str(i) for i in old_ids)
    assert again is False
