"""The notifications collection: exactly one document per order (unique index, upsert)."""

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from pymongo import ASCENDING, AsyncMongoClient
from pymongo.errors import DuplicateKeyError

from system.notification_service.schemas import Notification, OrderCreated

COLLECTION = "notifications"


def _message(event: OrderCreated) -> str:
    order = event.order
    if order.status == "confirmed":
        return f"Your order {order.id} is confirmed."
    return f"Your order {order.id} could not be placed: {order.reason or order.status}."


class NotificationStore:
    def __init__(self, client: AsyncMongoClient[dict[str, Any]], database: str) -> None:
        self._client = client
        self._collection = client[database][COLLECTION]

    async def ensure_indexes(self) -> None:
        await self._collection.create_index(
            [("order_id", ASCENDING)], unique=True, name="one_notification_per_order"
        )

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
                {"order_id": document["order_id"]}, {"$setOnInsert": document}, upsert=True
            )
        except DuplicateKeyError:
            # Two deliveries of one event raced; the other one stored it.
            return False
        return result.upserted_id is not None

    async def for_orders(self, order_ids: list[UUID] | None, limit: int) -> list[Notification]:
        """The notifications of these orders (all orders: None), newest first."""
        query = {"order_id": {"$in": [str(i) for i in order_ids]}} if order_ids else {}
        cursor = self._collection.find(query, {"_id": False}).sort("created_at", -1).limit(limit)
        return [Notification(**doc) async for doc in cursor]

    async def ping(self) -> None:
        await self._client.admin.command("ping")
