"""The order API's bodies; the gateway validates incoming orders with these too."""

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from system.common.text import CONTROL_CHARACTERS
from system.inventory_service.schemas import MAX_RESERVED_UNITS_PER_SKU

SKU_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,63}$"
_EMAIL_CHARACTER = rf"[^@\s{CONTROL_CHARACTERS}]"
EMAIL_PATTERN = rf"^{_EMAIL_CHARACTER}+@{_EMAIL_CHARACTER}+\.{_EMAIL_CHARACTER}+$"
# Printable ASCII without spaces: safe as a header value and a database key.
IDEMPOTENCY_KEY_PATTERN = r"^[!-~]{1,200}$"


def _integral(value: object) -> object:
    """JSON Schema's `integer` includes 1.0: take it as 1. Strings and booleans stay refused."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


class OrderItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: str = Field(pattern=SKU_PATTERN, examples=["SKU-KEYBOARD"])
    quantity: Annotated[int, BeforeValidator(_integral)] = Field(ge=1, le=1000, strict=True)


class OrderRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_email: str = Field(pattern=EMAIL_PATTERN, max_length=254, examples=["ada@example.com"])
    items: list[OrderItem] = Field(min_length=1, max_length=50)

    @model_validator(mode="after")
    def _each_sku_within_what_inventory_reserves(self) -> "OrderRequest":
        # Lines of one SKU are reserved as one item: 11 lines of 1,000 are one item of 11,000.
        totals: dict[str, int] = {}
        for item in self.items:
            totals[item.sku] = totals.get(item.sku, 0) + item.quantity
        over = [sku for sku, total in totals.items() if total > MAX_RESERVED_UNITS_PER_SKU]
        if over:
            raise ValueError(
                f"at most {MAX_RESERVED_UNITS_PER_SKU} units of one SKU per order "
                f"(all its lines together); over for: {', '.join(sorted(over))}"
            )
        return self


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
