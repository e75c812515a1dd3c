"""HTTP endpoints of inventory-service."""

from collections.abc import Coroutine
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response, status

from system.common.deadline import read_not_in_time, read_within, write_not_in_time, write_within
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

T = TypeVar("T")

router = APIRouter()

READ_NOT_IN_TIME = read_not_in_time("inventory-db")


async def read_within_deadline(request: Request, work: Coroutine[Any, Any, T]) -> T:
    """`work`, a read of inventory-db, answered 503 once the read deadline has passed."""
    return await read_within(request.app.state.read_deadline_seconds, "inventory-db", work)


WRITE_NOT_IN_TIME = write_not_in_time("inventory-db")


async def write_within_deadline(request: Request, work: Coroutine[Any, Any, T]) -> T:
    """`work`, a reservation or a release, answered 503 ("the outcome is unknown") once the
    write deadline has passed."""
    return await write_within(request.app.state.write_deadline_seconds, "inventory-db", work)


@router.get("/products", responses=READ_NOT_IN_TIME)
async def list_products(request: Request, store: StoreDep) -> list[Product]:
    """The catalogue with current stock."""
    return await read_within_deadline(request, store.list_products())


@router.get("/products/{sku}", responses={404: {"description": "unknown SKU"}, **READ_NOT_IN_TIME})
async def get_product(sku: SkuPath, request: Request, store: StoreDep) -> Product:
    """One product with its current stock."""
    product = await read_within_deadline(request, store.get_product(sku))
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
    responses={
        200: {"description": "replayed: this key was seen before"},
        422: {},
        **WRITE_NOT_IN_TIME,
    },
)
async def reserve(
    body: ReservationRequest, request: Request, response: Response, store: StoreDep
) -> Reservation:
    """Reserve every item or none; the same key always yields the same reservation."""
    try:
        reservation, created = await write_within_deadline(request, store.reserve(body))
    except UnknownSkus as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    if not created:
        response.status_code = status.HTTP_200_OK
    return reservation


ReservationKey = Annotated[str, Path(min_length=1, max_length=200)]


@router.get(
    "/reservations/{key}", responses={404: {"description": "unknown key"}, **READ_NOT_IN_TIME}
)
async def get_reservation(key: ReservationKey, request: Request, store: StoreDep) -> Reservation:
    """One reservation."""
    reservation = await read_within_deadline(request, store.get_reservation(key))
    if reservation is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no reservation with key {key}")
    return reservation


@router.get("/reservations", responses=READ_NOT_IN_TIME)
async def list_held_reservations(
    request: Request,
    store: StoreDep,
    older_than_seconds: Annotated[float, Query(ge=0, le=86_400 * 365)] = 0,
    after: Annotated[str, Query(max_length=200)] = "",
    limit: Annotated[int, Query(ge=1, le=100)] = 100,
) -> list[str]:
    """Keys of reservations still holding stock, in key order after `after` (order-service's
    reconciler pages through them)."""
    return await read_within_deadline(
        request, store.reserved_keys(older_than_seconds, after, limit)
    )


@router.post("/reservations/{key}/release", responses=WRITE_NOT_IN_TIME)
async def release(key: ReservationKey, request: Request, store: StoreDep) -> Reservation:
    """Return reserved stock; idempotent. An unknown key is marked released, so a reservation
    arriving later under it takes nothing."""
    return await write_within_deadline(request, store.release(key))
