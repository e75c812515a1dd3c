"""HTTP endpoints of order-service."""

import uuid
from collections.abc import Coroutine
from typing import Annotated, Any, TypeVar
from uuid import UUID

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, Response, status

from system.common.deadline import read_not_in_time, read_within, within
from system.common.listing_access import REFUSALS, WITHOUT_TOKEN, FullEmails, mask_email
from system.common.request_context import current_request_id
from system.order_service.inventory import InventoryClient, InventoryRefused, InventoryUnavailable
from system.order_service.relay import OutboxRelay
from system.order_service.schemas import IDEMPOTENCY_KEY_PATTERN, Order, OrderPage, OrderRequest
from system.order_service.store import IdempotencyKeyReused, OrderStore


# async: FastAPI would run a plain `def` dependency in a worker thread, per request.
async def get_store(request: Request) -> OrderStore:
    store: OrderStore = request.app.state.store
    return store


async def get_inventory(request: Request) -> InventoryClient:
    inventory: InventoryClient = request.app.state.inventory
    return inventory


async def get_relay(request: Request) -> OutboxRelay:
    relay: OutboxRelay = request.app.state.relay
    return relay


StoreDep = Annotated[OrderStore, Depends(get_store)]
InventoryDep = Annotated[InventoryClient, Depends(get_inventory)]
RelayDep = Annotated[OutboxRelay, Depends(get_relay)]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        pattern=IDEMPOTENCY_KEY_PATTERN,
        description=(
            "a retried POST with the same key returns the same order; a key is the customer's"
            " own (customer_email) and lasts IDEMPOTENCY_TTL_SECONDS"
        ),
    ),
]

router = APIRouter()

T = TypeVar("T")


@router.post(
    "/orders",
    status_code=status.HTTP_201_CREATED,
    responses={
        409: {"description": "Idempotency-Key reused by the same customer with a different body"},
        422: {"description": "invalid order, e.g. unknown SKU"},
        503: {"description": "an order could not be completed in time; retry with the same key"},
    },
)
async def place_order(
    body: OrderRequest,
    request: Request,
    response: Response,
    store: StoreDep,
    inventory: InventoryDep,
    relay: RelayDep,
    idempotency_key: IdempotencyKey = None,
) -> Order:
    """Reserve stock and record the order as confirmed or rejected (with its event).

    The whole request ends within ORDER_DEADLINE_SECONDS; an order it leaves pending is
    finished by a retry with the same key or, past its bound, by the reconciler.
    """
    key = idempotency_key or f"generated:{uuid.uuid4()}"
    response.headers["Idempotency-Key"] = key
    deadline: float = request.app.state.order_deadline_seconds
    key_ttl: float = request.app.state.idempotency_ttl_seconds
    placing = _place(key, key_ttl, body, response, store, inventory, relay)
    try:
        return await within(deadline, placing)
    except TimeoutError as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            f"the order was not completed within {deadline:g} s; "
            "retry with the same Idempotency-Key",
            headers={"Idempotency-Key": key, "Retry-After": "1"},
        ) from exc


async def _place(
    key: str,
    key_ttl: float,
    body: OrderRequest,
    response: Response,
    store: OrderStore,
    inventory: InventoryClient,
    relay: OutboxRelay,
) -> Order:
    try:
        order, created = await store.claim(key, body, key_ttl)
    except IdempotencyKeyReused as exc:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"Idempotency-Key {key} was already used for a different request",
        ) from exc
    if not created:
        response.headers["Idempotent-Replayed"] = "true"
    if order.status != "pending":
        return order
    # Pending: new, or an earlier attempt stopped half-way. The reservation key is the order
    # id, so redoing the reservation cannot reserve twice.
    try:
        outcome = await inventory.reserve(str(order.id), order.items)
    except InventoryRefused as exc:
        await store.discard_pending(order.id)
        raise HTTPException(exc.status, exc.detail) from exc
    except InventoryUnavailable as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            f"{exc}; the order {order.id} is pending, retry with the same Idempotency-Key",
            headers={"Idempotency-Key": key, "Retry-After": "1"},
        ) from exc
    final = await store.finalize(
        order.id,
        "confirmed" if outcome.reserved else "rejected",
        outcome.reason,
        current_request_id(),
    )
    relay.wake()
    return final


READ_NOT_IN_TIME = read_not_in_time("order-db")


async def read_within_deadline(request: Request, work: Coroutine[Any, Any, T]) -> T:
    """`work`, a read of order-db, answered 503 once the read deadline has passed."""
    return await read_within(request.app.state.read_deadline_seconds, "order-db", work)


def shown(order: Order, full_emails: bool) -> Order:
    """`order` as this caller may see it: its customer's e-mail masked without the token."""
    if full_emails:
        return order
    return order.model_copy(update={"customer_email": mask_email(order.customer_email)})


@router.get(
    "/orders/{order_id}",
    description=f"One order; {WITHOUT_TOKEN}.",
    responses={404: {"description": "no such order"}, **REFUSALS, **READ_NOT_IN_TIME},
)
async def get_order(
    order_id: UUID, request: Request, store: StoreDep, full_emails: FullEmails
) -> Order:
    order = await read_within_deadline(request, store.get(order_id))
    if order is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no order with id {order_id}")
    return shown(order, full_emails)


@router.get(
    "/orders",
    description=f"Orders, newest first; {WITHOUT_TOKEN}.",
    responses={**REFUSALS, **READ_NOT_IN_TIME},
)
async def list_orders(
    request: Request,
    store: StoreDep,
    full_emails: FullEmails,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> OrderPage:
    items, total = await read_within_deadline(request, store.page(limit, offset))
    items = [shown(order, full_emails) for order in items]
    return OrderPage(items=items, total=total, limit=limit, offset=offset)
