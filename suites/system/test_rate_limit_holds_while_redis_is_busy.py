"""Promise: the rate limit holds under load. When every pooled Redis connection is busy, a
request waits briefly for one instead of switching the limiter (and the cache) off."""

import asyncio
import time

import httpx
import pytest
from redis import Redis

from suites.system.stack import REDIS_PASSWORD, Service, Stack

LIMIT = 5
#: More concurrent requests than the gateway's Redis pool has connections (100 by default).
BURST = 150
#: Redis answers nothing for this long, so every pooled connection is held by a waiting call.
PAUSE_MS = 1500


@pytest.fixture(scope="module")
def limited_gateway(stack: Stack) -> Service:
    """A gateway with a tiny limit whose Redis calls may take longer than the pause (so the
    pause is a busy Redis, not a Redis that is down)."""
    return stack.start_extra(
        "api_gateway",
        stack.gateway,
        {
            "RATE_LIMIT_PER_MINUTE": str(LIMIT),
            "REDIS_TIMEOUT_SECONDS": "3",
            "REDIS_POOL_WAIT_SECONDS": "3",
        },
    )


async def _burst(url: str, client_id: str, count: int) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=count, max_keepalive_connections=count)
    headers = {"X-Forwarded-For": client_id}
    async with httpx.AsyncClient(timeout=20, limits=limits, headers=headers) as client:
        return await asyncio.gather(*(client.get(url) for _ in range(count)))


def test_the_rate_limit_holds_while_every_pooled_redis_connection_is_busy(
    stack: Stack, limited_gateway: Service
) -> None:
    # arrange: Redis holds every command for a while, so the gateway's calls pile up on the pool
    redis = Redis(host="127.0.0.1", port=stack.infra.redis_port, password=REDIS_PASSWORD)
    client_id = f"busy-{time.monotonic_ns()}"
    url = f"{limited_gateway.url}/api/inventory/products"

    # act: a burst larger than the pool while Redis is paused, then one more request
    redis.client_pause(PAUSE_MS)
    responses = asyncio.run(_burst(url, client_id, BURST))
    after = httpx.get(url, headers={"X-Forwarded-For": client_id}, timeout=10)

    # assert: the limit was applied to the whole burst (a minute boundary inside the burst may
    # reset the count once, hence at most 2x), and the limiter is still on afterwards
    statuses = [r.status_code for r in responses]
    served = statuses.count(200)
    assert set(statuses) <= {200, 429}, sorted(set(statuses))
    assert served <= 2 * LIMIT, f"{served} of {BURST} served past a limit of {LIMIT}"
    assert after.status_code == 429, f"the next request got {after.status_code}: limiter off"
    assert "rate limit" in after.json()["detail"]
