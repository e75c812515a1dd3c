"""The notifications collection: exactly one document per order, keyed by the order's id.

The order id is the document's `_id`, so storing an event and reading an order's notification
are lookups by the primary key: an index lookup in MongoDB, and work for the database rather
than for Go in the air-gapped stand-in. (FerretDB v1.24 on SQLite hands only `_id` equality to
SQLite and filters anything else after reading the whole collection; among 20,000 notifications
a read by `order_id` took 3 s, by `_id` 0.2 s, found on 2 Dec 2026 when the e2e suites' orders
had made every read of notification-service slow.) The unique index on `order_id` stays, for
documents stored before the key changed, which `adopt_order_ids` re-keys.
"""

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pymongo
from pymongo import ASCENDING, DESCENDING, AsyncMongoClient
from pymongo.errors import DuplicateKeyError

from system.common.health import CHECK_SECONDS
from system.notification_service.schemas import Notification, OrderCreated

COLLECTION = "notifications"
#: Marks a document being re-keyed (adopt_order_ids).
REKEYING = "re-keying:"
#: How long a readiness ping may take: half a second inside /readyz's limit.
PING_SECONDS = CHECK_SECONDS - 0.5


def _message(event: OrderCreated) -> str:
    order = event.order
    if order.status == "confirmed":
        return f"Your order {order.id} is confirmed."
    return f"Your order {order.id} could not be placed: {order.reason or order.status}."


def orders_filter(order_ids: list[UUID] | None) -> dict[str, Any]:
    """The filter of `NotificationStore.for_orders`: by key, an equality for one order and `$in`
    for several (the air-gapped stand-in, FerretDB, hands both to SQLite's `_id` index: see
    airgap/go/patches/)."""
    ids = [str(i) for i in order_ids or []]
    if len(ids) == 1:
        return {"_id": ids[0]}
    if ids:
        return {"_id": {"$in": ids}}
    return {}


class NotificationStore:
    def __init__(self, client: AsyncMongoClient[dict[str, Any]], database: str) -> None:
        self._client = client
        self._collection = client[database][COLLECTION]

    async def ensure_indexes(self) -> None:
        await self._collection.create_index(
            [("order_id", ASCENDING)], unique=True, name="one_notification_per_order"
        )

    async def prepare(self) -> None:
        """At start-up: the unique index and the index the newest-first listing sorts by. One
        index per call: FerretDB v1.24 drops the connection when one createIndexes names several
        it has."""
        await self.ensure_indexes()
        await self._collection.create_index([("created_at", DESCENDING)], name="newest_first")

    async def adopt_order_ids(self) -> int:
        """Re-key the documents stored under a generated `_id` (before the order id was the key);
        returns how many this call re-keyed.

        Each one in three steps, so that a crash or a second replica doing the same at once
        loses nothing: its `order_id` is marked (freeing the order id in the unique index), a
        copy is stored under the order id (a copy stored already, by the other replica or by a
        redelivered event, wins), and the old document is deleted. A marked document left by a
        crash is finished at the next start.
        """
        moved = 0
        for old in await self._collection.find({"_id": {"$type": "objectId"}}).to_list():
            order_id = str(old["order_id"]).removeprefix(REKEYING)
            await self._collection.update_one(
                {"_id": old["_id"]}, {"$set": {"order_id": REKEYING + order_id}}
            )
            try:
                await self._collection.insert_one({**old, "_id": order_id, "order_id": order_id})
                moved += 1
            except DuplicateKeyError:
                pass
            await self._collection.delete_one({"_id": old["_id"]})
        return moved

    async def record(self, event: OrderCreated) -> bool:
        """Store the notification for this order unless one exists; True if it was new."""
        document = {
            "order_id": str(event.order.id),
            "event_id": str(event.event_id),
            "customer_email": event.order.customer_email,
            "order_status": event.order.status,
            "message": _message(event),
            "created_at": datetime.now(UTC),
        }
        try:
            result = await self._collection.update_one(
                {"_id": document["order_id"]}, {"$setOnInsert": document}, upsert=True
            )
        except DuplicateKeyError:
            # Two deliveries of one event raced; the other one stored it.
            return False
        return result.upserted_id is not None

    async def for_orders(self, order_ids: list[UUID] | None, limit: int) -> list[Notification]:
        """The notifications of these orders (all orders: None), newest first."""
        query = orders_filter(order_ids)
        cursor = self._collection.find(query, {"_id": False}).sort("created_at", -1).limit(limit)
        return [Notification(**doc) async for doc in cursor]

    async def ping(self) -> None:
        """MongoDB answers, within PING_SECONDS: the driver's own deadline, so that it ends its
        wait itself and /readyz's limit never has to cancel it in the middle of its server
        selection (a suspect in the stuck client of system/common/mongo_monitor.py: Python 3.11's
        `asyncio.wait_for`, cancelled while the driver's condition wait is being cancelled,
        leaves that wait to retake the driver's lock for a caller that is gone)."""
        with pymongo.timeout(PING_SECONDS):
            await self._client.admin.command("ping")

    def servers_seen(self) -> str:
        """What the client knows of its servers: each one's type, and its last error."""
        seen = self._client.topology_description.server_descriptions()
        return "; ".join(
            f"{host}:{port} {server.server_type_name}"
            + (f" ({type(server.error).__name__}: {server.error})" if server.error else "")
            for (host, port), server in seen.items()
        )
