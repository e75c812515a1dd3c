"""Promise: a connection to a backend that is not opened in time is tried once more before the
gateway answers 503 — one dropped SYN (resent by the kernel only after 1 s, the connect bound)
must not fail a request that nothing was sent for. Twice not opened is a prompt 503."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, ClassVar

import aiohttp
import pytest
from fastapi import Response

from system.api_gateway.upstream import CONNECT_ATTEMPTS, Reply, Upstream


class FakeResponse:
    status = 201
    headers: ClassVar[dict[str, str]] = {"content-type": "application/json"}

    async def read(self) -> bytes:
        return b'{"ok": true}'


class ConnectTimeouts:
    """A stand-in for the gateway's aiohttp session: the first `failures` connections time
    out, later ones answer 201."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0

    @asynccontextmanager
    async def request(self, method: str, url: str, **_: Any) -> AsyncIterator[FakeResponse]:
        self.calls += 1
        if self.calls <= self.failures:
            raise aiohttp.ConnectionTimeoutError("connect timed out")
        yield FakeResponse()


def send(session: ConnectTimeouts, *, idempotent: bool) -> Reply | Response:
    upstream = Upstream("order-service", "http://order-service:9001", session)  # type: ignore[arg-type]
    return asyncio.run(upstream.send("POST", "/orders", idempotent=idempotent, json={}))


@pytest.mark.parametrize("idempotent", [False, True])
def test_one_connect_timeout_is_tried_again_even_for_a_post(idempotent: bool) -> None:
    session = ConnectTimeouts(failures=1)
    reply = send(session, idempotent=idempotent)
    assert isinstance(reply, Reply), reply
    assert reply.status == 201
    assert session.calls == 2


def test_negative_control_a_backend_never_reached_is_a_503_after_the_second_try() -> None:
    session = ConnectTimeouts(failures=CONNECT_ATTEMPTS)
    reply = send(session, idempotent=True)
    assert isinstance(reply, Response)
    assert reply.status_code == 503
    assert b"no connection to order-service in time" in reply.body
    assert session.calls == CONNECT_ATTEMPTS
