"""HTTP endpoints of inventory-service."""

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response, status

from system.inventory_service.schemas import (
    SKU_PATTERN,
    Product,
    ProductUpsert,
    Reservation,
    ReservationRequest,
)
from system.inventory_service.store import InventoryStore, UnknownSkus


# async: FastAPI would run a plain `def` dependency in a worker thread, per request.
async def get_store(request: Request) -> InventoryStore:
    store: InventoryStore = request.app.state.store
    return store


StoreDep = Annotated[InventoryStore, Depends(get_store)]
SkuPath = Annotated[str, Path(pattern=SKU_PATTERN)]

router = APIRouter()


@router.get("/products")
async def list_products(store: StoreDep) -> list[Product]:
    """The catalogue with current stock."""
    return await store.list_products()


@router.get("/products/{sku}", responses={404: {"description": "unknown SKU"}})
async def get_product(sku: SkuPath, store: StoreDep) -> Product:
    """One product with its current stock."""
    product = await store.get_product(sku)
    if product is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"unknown sku: {sku}")
    return product


@router.put("/products/{sku}")
async def put_product(sku: SkuPath, body: ProductUpsert, store: StoreDep) -> Product:
    """Create a product or set its stock (operators and tests; not routed by the gateway)."""
    return await store.upsert_product(sku, body)


@router.post(
    "/reservations",
    status_code=status.HTTP_201_CREATED,
    responses={200: {"description": "replayed: this key was seen before"}, 422: {}},
)
async def reserve(body: ReservationRequest, response: Response, store: StoreDep) -> Reservation:
    """Reserve every item or none; the same key always yields the same reservation."""
    try:
        reservation, created = await store.reserve(body)
    except UnknownSkus as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    if not created:
        response.status_code = status.HTTP_200_OK
    return reservation


ReservationKey = Annotated[str, Path(min_length=1, max_length=200)]


@router.get("/reservations/{key}", responses={404: {"description": "unknown key"}})
async def get_reservation(key: ReservationKey, store: StoreDep) -> Reservation:
    """One reservation."""
    reservation = await store.get_reservation(key)
    if reservation is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no reservation with key {key}")
    return reservation


@router.get("/reservations")
async def list_held_reservations(
    store: StoreDep,
    older_than_seconds: Annotated[float, Query(ge=0, le=86_400 * 365)] = 0,
    after: Annotated[str, Query(max_length=200)] = "",
    limit: Annotated[int, Query(ge=1, le=100)] = 100,
) -> list[str]:
    """Keys of reservations still holding stock, in key order after `after` (order-service's
    reconciler pages through them)."""
    return await store.reserved_keys(older_than_seconds, after, limit)


@router.post("/reservations/{key}/release")
async def release(key: ReservationKey, store: StoreDep) -> Reservation:
    """Return reserved stock; idempotent. An unknown key is marked released, so a reservation
    arriving later under it takes nothing."""
    return await store.release(key)
