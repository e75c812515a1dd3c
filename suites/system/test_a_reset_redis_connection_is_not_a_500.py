"""Promise: Redis is an optional helper of the gateway, whatever way its connections end.

Found by the fault campaign (3 Dec 2026, seed 908518): after a reset of the gateway's link to
Redis (every pooled connection ended with a TCP reset, as after a proxy's restart), the next
Redis call on a pooled connection raised uvloop's `RuntimeError: unable to perform operation
on <TCPTransport closed=True ...>; the handler is closed`. redis-py passes that error through
(it is not one of its connection errors), and the gateway, which let only Redis' own errors
fall back, answered 500 to every kind of request (8 in that run) instead of serving without
its cache and rate limit. The gateway runs under uvloop (uvicorn picks it when installed), so the
check does too: plain asyncio only logs a write to a closed transport.

Checked against a real Redis behind the campaign's relay, whose `reset` ends the connections.
The check fails on the code before the fix (run there once, 3 Dec 2026).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvloop

from suites.campaign.links import Links
from suites.system.servers import ManagedProcess, redis
from system.api_gateway.redis_gate import RedisGate, redis_client

PASSWORD = "reset-test"
LINK = "gateway->redis"
CONNECTIONS = 4
COOLDOWN_SECONDS = 0.2


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    process: ManagedProcess
    process, port = redis(tmp_path_factory.mktemp("redis-reset"), PASSWORD)
    process.start()
    yield port
    process.stop()


@pytest.fixture
def links(server: int, tmp_path: Path) -> Iterator[Links]:
    relay = Links(tmp_path / "links.log")
    relay.add(LINK, server)
    yield relay
    relay.close()


def _gate(port: int) -> RedisGate:
    client = redis_client("127.0.0.1", port, PASSWORD, timeout=1.0, max_connections=CONNECTIONS)
    return RedisGate(client, COOLDOWN_SECONDS, max_connections=CONNECTIONS, pool_wait_seconds=0.5)


async def _after_a_reset(links: Links) -> tuple[list[str], bytes | None]:
    """Calls through the gate before and after the link's connections are reset: the errors
    that escaped the gate, and what the cache holds once the cool-down is over."""
    gate = _gate(links.ports[LINK])
    escaped: list[str] = []
    try:
        # Every pooled connection in use once, so each is in the pool when the link resets.
        await asyncio.gather(*(gate.cache(f"k{i}", b"v", 60) for i in range(CONNECTIONS)))
        ended = int(links.command("reset", LINK))
        assert ended >= 1, "the reset ended no connection: the check would prove nothing"
        await asyncio.sleep(0.1)  # the resets reach the client
        for call in range(3 * CONNECTIONS):
            try:
                await gate.over_limit("client", limit=1000)
                await gate.cached("k0")
            except Exception as exc:  # whatever escapes the gate is the finding
                escaped.append(f"call {call}: {type(exc).__name__}: {exc}")
        await asyncio.sleep(COOLDOWN_SECONDS * 2)
        return escaped, await gate.cached("k0")
    finally:
        await gate.close()


def test_the_gateway_serves_on_when_its_redis_connections_are_reset(links: Links) -> None:
    # arrange / act: pooled connections, a reset of the link, then calls as requests make them
    escaped, after_cooldown = uvloop.run(_after_a_reset(links))

    # assert: no error escaped the gate (each would be a 500), and Redis is used again after
    # the cool-down (no dead connection left in the pool)
    assert escaped == [], escaped
    assert after_cooldown == b"v", "after the cool-down the gateway still could not use Redis"
