"""Draining before shutdown, so that no client meets a closed keep-alive connection.

Kubernetes removes a terminating pod from the Service's endpoints, but connections that clients
already hold (kube-proxy keeps their NAT entries) still reach the pod. The preStop hook calls
`GET /drainz?seconds=N` from inside the pod (only loopback callers may drain; the endpoint is
not part of the public API): from then on every response says `Connection: close`, so each client
closes its connection after the answer and opens the next one to a pod that stays. /readyz turns
503 too. After N seconds the hook returns, SIGTERM follows, and uvicorn finds no idle client.
"""

import asyncio
from dataclasses import dataclass

from fastapi import APIRouter, HTTPException, Query, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_DRAIN_SECONDS = 60
LOOPBACK = frozenset({"127.0.0.1", "::1"})


@dataclass
class DrainState:
    """Whether this process is draining (shared by the middleware, /drainz and /readyz)."""

    draining: bool = False


def drain_router(state: DrainState) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/drainz", include_in_schema=False)
    async def drainz(
        request: Request, seconds: float = Query(5, ge=0, le=MAX_DRAIN_SECONDS)
    ) -> dict[str, object]:
        """Start draining and hold the caller (the preStop hook) for `seconds`."""
        if request.client is None or request.client.host not in LOOPBACK:
            raise HTTPException(403, "only the pod itself may drain it")
        state.draining = True
        await asyncio.sleep(seconds)
        return {"status": "drained", "seconds": seconds}

    return router


class ConnectionCloseWhileDraining:
    """Adds `Connection: close` to every response once the process drains."""

    def __init__(self, app: ASGIApp, state: DrainState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_closing(message: Message) -> None:
            if message["type"] == "http.response.start" and self.state.draining:
                headers = [
                    (k, v) for k, v in message.get("headers", []) if k.lower() != b"connection"
                ]
                message = {**message, "headers": [*headers, (b"connection", b"close")]}
            await send(message)

        await self.app(scope, receive, send_closing)
