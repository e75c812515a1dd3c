"""Request and response bodies of inventory-service."""

from typing import Literal

from pydantic import BaseModel, Field

from system.common.text import NO_CONTROL_CHARACTERS

SKU_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,63}$"
#: The most units of one SKU a single reservation holds (order-service checks orders against it).
MAX_RESERVED_UNITS_PER_SKU = 10_000


class Product(BaseModel):
    sku: str
    name: str
    price_cents: int
    stock: int


class ProductUpsert(BaseModel):
    """Create a product or set its name, price and stock (an operator's restock)."""

    name: str = Field(min_length=1, max_length=200, pattern=NO_CONTROL_CHARACTERS)
    price_cents: int = Field(ge=0, le=100_000_000)
    stock: int = Field(ge=0, le=1_000_000_000)


class ReservationItem(BaseModel):
    sku: str = Field(pattern=SKU_PATTERN)
    quantity: int = Field(ge=1, le=MAX_RESERVED_UNITS_PER_SKU)


class ReservationRequest(BaseModel):
    key: str = Field(min_length=1, max_length=200, description="same key, same result")
    items: list[ReservationItem] = Field(min_length=1, max_length=100)


class Reservation(BaseModel):
    key: str
    status: Literal["reserved", "rejected", "released"]
    reason: str | None = None
    items: list[ReservationItem]
