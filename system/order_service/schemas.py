"""The order API's bodies; the gateway validates incoming orders with these too."""

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

SKU_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,63}$"
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
# Printable ASCII without spaces: safe as a header value and a database key.
IDEMPOTENCY_KEY_PATTERN = r"^[!-~]{1,200}$"


class OrderItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: str = Field(pattern=SKU_PATTERN, examples=["SKU-KEYBOARD"])
    quantity: int = Field(ge=1, le=1000, strict=True)


class OrderRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_email: str = Field(pattern=EMAIL_PATTERN, max_length=254, examples=["ada@example.com"])
    items: list[OrderItem] = Field(min_length=1, max_length=50)


OrderStatus = Literal["pending", "confirmed", "rejected"]


class Order(BaseModel):
    id: UUID
    status: OrderStatus
    reason: str | None = None
    customer_email: str
    items: list[OrderItem]
    created_at: datetime


class OrderPage(BaseModel):
    items: list[Order]
    total: int
    limit: int
    offset: int
