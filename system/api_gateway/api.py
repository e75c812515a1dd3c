"""The public API: /api/... routed to the three backends, validated on the way in."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network, ip_address
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Query, Request, Response

from system.api_gateway.proxies import TrustedProxies
from system.api_gateway.redis_gate import RedisGate
from system.api_gateway.upstream import Upstream, relay
from system.common.listing_access import (
    AUTHORIZATION_HEADER,
    REFUSALS,
    WITHOUT_TOKEN,
    PresentedToken,
)
from system.inventory_service.schemas import Product
from system.notification_service.schemas import Notification
from system.order_service.schemas import (
    IDEMPOTENCY_KEY_PATTERN,
    SKU_PATTERN,
    Order,
    OrderPage,
    OrderRequest,
)


@dataclass(frozen=True)
class Backends:
    inventory: Upstream
    orders: Upstream
    notifications: Upstream
    redis: RedisGate
    cache_ttl_seconds: float
    rate_limit_per_minute: int
    trusted_proxies: TrustedProxies


# async: FastAPI would run a plain `def` dependency in a worker thread, per request.
async def get_backends(request: Request) -> Backends:
    backends: Backends = request.app.state.backends
    return backends


BackendsDep = Annotated[Backends, Depends(get_backends)]


def _is_proxy(address: str, proxies: Sequence[IPv4Network | IPv6Network]) -> bool:
    try:
        parsed = ip_address(address)
    except ValueError:
        return False
    return any(parsed in network for network in proxies)


def client_address(
    peer: str | None, forwarded_for: Sequence[str], proxies: Sequence[IPv4Network | IPv6Network]
) -> str:
    """Who the caller is: the peer, unless the peer is a trusted proxy; then the right-most
    X-Forwarded-For entry that is not itself a proxy. Each proxy appends the address it saw,
    so the entries left of that one are what the client wrote, and are never read."""
    if peer is None:
        return "unknown"
    if not _is_proxy(peer, proxies):
        return peer
    hops = [hop.strip() for header in forwarded_for for hop in header.split(",")]
    hops = [hop for hop in hops if hop]
    for hop in reversed(hops):
        if not _is_proxy(hop, proxies):
            return hop[:64]
    # Proxies all the way: the farthest one is the closest thing to a client there is.
    return hops[0][:64] if hops else peer


def client_id(request: Request, proxies: Sequence[IPv4Network | IPv6Network]) -> str:
    """The client the rate limit counts (client_address of this request)."""
    peer = request.client.host if request.client else None
    return client_address(peer, request.headers.getlist("x-forwarded-for"), proxies)


async def rate_limit(request: Request, backends: BackendsDep) -> None:
    """429 with Retry-After once a client exceeds its per-minute budget."""
    limit = backends.rate_limit_per_minute
    if limit <= 0:
        return
    retry_after = await backends.redis.over_limit(
        client_id(request, backends.trusted_proxies.current), limit
    )
    if retry_after is not None:
        raise HTTPException(
            429,
            f"rate limit of {limit} requests per minute exceeded",
            headers={"Retry-After": str(retry_after)},
        )


IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"
KEY_HEADER_DOC = {
    "description": "the key this order is filed under: the caller's, or one the gateway made",
    "schema": {"type": "string"},
}

ERRORS: dict[int | str, dict[str, Any]] = {
    429: {"description": "rate limited; see Retry-After"},
    502: {"description": "a backend failed"},
    503: {"description": "a backend is unavailable, or the gateway is at its concurrency cap"},
    504: {"description": "a backend timed out"},
}

router = APIRouter(prefix="/api", dependencies=[Depends(rate_limit)], responses=ERRORS)


async def _cached_catalogue_read(backends: Backends, path: str) -> Response:
    caching = backends.cache_ttl_seconds > 0
    cached = await backends.redis.cached(path) if caching else None
    if cached is not None:
        return Response(cached, media_type="application/json", headers={"X-Cache": "hit"})
    response = await backends.inventory.send("GET", path, idempotent=True)
    if isinstance(response, Response):
        return response
    if caching and response.status == 200:
        await backends.redis.cache(path, response.body, backends.cache_ttl_seconds)
    reply = relay(response)
    reply.headers["X-Cache"] = "miss" if caching else "off"
    return reply


@router.get("/inventory/products", response_model=list[Product])
async def list_products(backends: BackendsDep) -> Response:
    """The catalogue with stock (cached for CACHE_TTL_SECONDS)."""
    return await _cached_catalogue_read(backends, "/products")


@router.get(
    "/inventory/products/{sku}",
    response_model=Product,
    responses={404: {"description": "unknown SKU"}},
)
async def get_product(
    backends: BackendsDep, sku: Annotated[str, Path(pattern=SKU_PATTERN)]
) -> Response:
    """One product with stock (cached for CACHE_TTL_SECONDS)."""
    return await _cached_catalogue_read(backends, f"/products/{sku}")


@router.post(
    "/orders",
    status_code=201,
    response_model=Order,
    responses={
        201: {"headers": {IDEMPOTENCY_KEY_HEADER: KEY_HEADER_DOC}},
        400: {"description": "the body cannot be parsed (not UTF-8 text)"},
        409: {"description": "Idempotency-Key reused by the same customer for another order"},
        413: {"description": "the body is larger than MAX_BODY_BYTES"},
        422: {"description": "invalid"},
    },
)
async def place_order(
    body: OrderRequest,
    backends: BackendsDep,
    idempotency_key: Annotated[
        str | None, Header(alias=IDEMPOTENCY_KEY_HEADER, pattern=IDEMPOTENCY_KEY_PATTERN)
    ] = None,
) -> Response:
    """Place an order; with an Idempotency-Key a retried POST returns the same order.

    A key is the customer's own (`customer_email`: another customer's same key places that
    customer's order) and lasts IDEMPOTENCY_TTL_SECONDS (24 h); then it places a new order.

    Every answer names the key used (the caller's, or one made here) in its Idempotency-Key
    header, so a client that sent none can still retry, or look up, an order it got no
    final answer for.
    """
    # A key of our own makes the gateway's retry of this POST safe as well.
    key = idempotency_key or f"gateway:{uuid.uuid4()}"
    response = await backends.orders.send(
        "POST",
        "/orders",
        idempotent=True,
        json=body.model_dump(mode="json"),
        headers={IDEMPOTENCY_KEY_HEADER: key},
    )
    if not isinstance(response, Response) and response.status == 201:
        # Stock changed: drop the cached reads that show it.
        stale = ["/products", *{f"/products/{item.sku}" for item in body.items}]
        await backends.redis.invalidate(stale)
    reply = relay(response)
    reply.headers[IDEMPOTENCY_KEY_HEADER] = key
    return reply


def forwarded(presented: str | None) -> dict[str, str]:
    """The caller's Authorization header for the backend, which checks it (listing_access)."""
    return {} if presented is None else {AUTHORIZATION_HEADER: presented}


@router.get(
    "/orders/{order_id}",
    response_model=Order,
    description=f"One order; {WITHOUT_TOKEN}.",
    responses={404: {"description": "none"}, **REFUSALS},
)
async def get_order(order_id: UUID, backends: BackendsDep, presented: PresentedToken) -> Response:
    return relay(
        await backends.orders.send(
            "GET", f"/orders/{order_id}", idempotent=True, headers=forwarded(presented)
        )
    )


@router.get(
    "/orders",
    response_model=OrderPage,
    description=f"Orders, newest first, paged; {WITHOUT_TOKEN}.",
    responses=REFUSALS,
)
async def list_orders(
    backends: BackendsDep,
    presented: PresentedToken,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Response:
    params = {"limit": limit, "offset": offset}
    return relay(
        await backends.orders.send(
            "GET", "/orders", idempotent=True, params=params, headers=forwarded(presented)
        )
    )


@router.get(
    "/notifications",
    response_model=list[Notification],
    description=f"Notifications, optionally of one order; {WITHOUT_TOKEN}.",
    responses=REFUSALS,
)
async def list_notifications(
    backends: BackendsDep,
    presented: PresentedToken,
    order_id: UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> Response:
    params: dict[str, Any] = {"limit": limit}
    if order_id is not None:
        params["order_id"] = str(order_id)
    return relay(
        await backends.notifications.send(
            "GET", "/notifications", idempotent=True, params=params, headers=forwarded(presented)
        )
    )
