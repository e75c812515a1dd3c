"""The notification API's bodies and the OrderCreated event it consumes."""

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel


class EventOrder(BaseModel):
    id: UUID
    status: str
    customer_email: str
    reason: str | None = None


class OrderCreated(BaseModel):
    """The part of order-service's OrderCreated event this service relies on."""

    event_id: UUID
    event_type: str
    order: EventOrder


class Notification(BaseModel):
    order_id: UUID
    event_id: UUID
    customer_email: str
    order_status: str
    message: str
    created_at: datetime
