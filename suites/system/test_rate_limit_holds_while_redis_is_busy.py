"""Promise: the rate limit holds under load. When every pooled Redis connection is busy, a
request waits briefly for one instead of switching the limiter (and the cache) off."""

import asyncio
import time

import httpx
from redis import Redis

from suites.system.stack import (
    REDIS_PASSWORD,
    Service,
    Stack,
    at_least_this_long_in_one_rate_window,
)

LIMIT = 5
#: More concurrent requests than the gateway's Redis pool has connections (100 by default).
BURST = 150
#: Redis answers nothing for this long, so every pooled connection is held by a waiting call.
PAUSE_MS = 1500
#: Ample time for the burst and the request after it (the pause, then Redis timeouts of 3 s).
TEST_SECONDS = 15


def _gateway(stack: Stack, pool_wait_seconds: str) -> Service:
    """A gateway with a tiny limit whose Redis calls may take longer than the pause (so the
    pause is a busy Redis, not a Redis that is down)."""
    return stack.start_extra(
        "api_gateway",
        stack.gateway,
        {
            "RATE_LIMIT_PER_MINUTE": str(LIMIT),
            "REDIS_TIMEOUT_SECONDS": "3",
            "REDIS_POOL_WAIT_SECONDS": pool_wait_seconds,
        },
    )


async def _burst(url: str, client_id: str, count: int) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=count, max_keepalive_connections=count)
    headers = {"X-Forwarded-For": client_id}
    async with httpx.AsyncClient(timeout=20, limits=limits, headers=headers) as client:
        return await asyncio.gather(*(client.get(url) for _ in range(count)))


def _limit_broken_while_redis_is_busy(stack: Stack, gateway: Service) -> list[str]:
    """Pause Redis, send a burst larger than the pool and one request after it: what went
    wrong with the limit (nothing, when it held)."""
    redis = Redis(host="127.0.0.1", port=stack.infra.redis_port, password=REDIS_PASSWORD)
    client_id = f"busy-{time.monotonic_ns()}"
    url = f"{gateway.url}/api/inventory/products"
    at_least_this_long_in_one_rate_window(TEST_SECONDS)

    redis.client_pause(PAUSE_MS)
    statuses = [r.status_code for r in asyncio.run(_burst(url, client_id, BURST))]
    after = httpx.get(url, headers={"X-Forwarded-For": client_id}, timeout=10)

    problems = []
    if not set(statuses) <= {200, 429}:
        problems.append(f"unexpected statuses {sorted(set(statuses) - {200, 429})}")
    if statuses.count(200) > LIMIT:
        problems.append(f"{statuses.count(200)} of {BURST} served past a limit of {LIMIT}")
    if after.status_code != 429 or "rate limit" not in after.json().get("detail", ""):
        problems.append(f"the next request got {after.status_code}: limiter off")
    return problems


def test_the_rate_limit_holds_while_every_pooled_redis_connection_is_busy(
    stack: Stack,
) -> None:
    # arrange: a gateway that waits up to 3 s for a pooled connection
    gateway = _gateway(stack, pool_wait_seconds="3")

    # act / assert: the limit applied to the whole burst and is still on afterwards
    assert _limit_broken_while_redis_is_busy(stack, gateway) == []


def test_negative_control_a_gateway_that_does_not_wait_for_a_connection_is_caught(
    stack: Stack,
) -> None:
    # arrange: a gateway that gives up on a busy pool at once, so most of the burst goes
    # without the limiter
    gateway = _gateway(stack, pool_wait_seconds="0.01")

    # act
    problems = _limit_broken_while_redis_is_busy(stack, gateway)

    # assert: the check names the requests served past the limit
    assert any("served past a limit" in p for p in problems), problems
