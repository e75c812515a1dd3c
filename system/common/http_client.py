"""Outbound HTTP: one pooled client per process that forwards the current request id."""

import httpx

from system.common.request_context import REQUEST_ID_HEADER, current_request_id


async def _forward_request_id(request: httpx.Request) -> None:
    request_id = current_request_id()
    if request_id != "-":
        request.headers[REQUEST_ID_HEADER] = request_id


def pooled_client(
    *, connect: float, read: float, pool: float, max_connections: int = 100
) -> httpx.AsyncClient:
    """An AsyncClient with bounded timeouts and connection pool, adding X-Request-ID."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(connect=connect, read=read, write=read, pool=pool),
        limits=httpx.Limits(
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            keepalive_expiry=15.0,
        ),
        event_hooks={"request": [_forward_request_id]},
    )
