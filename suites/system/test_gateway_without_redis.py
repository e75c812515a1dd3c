"""Promise: Redis is an optimisation: with Redis down the gateway answers, uncached and
unlimited, without 5xx and without stalling; with Redis back, caching and limits resume."""

import time
from collections.abc import Iterator

import httpx
import pytest

from suites.system.stack import (
    Service,
    Stack,
    at_least_this_long_in_one_rate_window,
    new_product,
    order_body,
)
from suites.waiting import eventually, scaled

LIMIT = 3


@pytest.fixture(scope="module")
def limited_gateway(stack: Stack) -> Service:
    """A gateway of its own with a tiny rate limit, so "unlimited" is observable."""
    return stack.start_extra("api_gateway", stack.gateway, {"RATE_LIMIT_PER_MINUTE": str(LIMIT)})


@pytest.fixture
def redis_outage(stack: Stack) -> Iterator[None]:
    stack.infra.redis.stop()
    try:
        yield
    finally:
        if stack.infra.redis.proc is None:
            stack.infra.redis.start()


def test_gateway_serves_reads_and_orders_without_redis_and_without_limits(
    limited_gateway: Service, inventory_url: str, redis_outage: None
) -> None:
    # arrange
    sku = new_product(inventory_url, 100)
    client = httpx.Client(base_url=limited_gateway.url, timeout=10)

    # act: more requests than the rate limit allows, while Redis is down
    started = time.monotonic()
    reads = [client.get(f"/api/inventory/products/{sku}") for _ in range(LIMIT * 3)]
    order = client.post("/api/orders", json=order_body((sku, 1)))
    elapsed = time.monotonic() - started

    # assert: all served, none cached, none limited, and no Redis timeout paid per request
    assert [r.status_code for r in reads] == [200] * len(reads)
    assert {r.headers["x-cache"] for r in reads} == {"miss"}
    assert order.status_code == 201, order.text
    assert elapsed < scaled(3.0), f"{len(reads) + 1} requests took {elapsed:.1f}s without Redis"


def test_gateway_caches_and_limits_again_once_redis_is_back(
    stack: Stack, limited_gateway: Service, inventory_url: str
) -> None:
    # arrange: Redis was restarted by the previous test's fixture (or never stopped)
    sku = new_product(inventory_url, 100)
    client = httpx.Client(base_url=limited_gateway.url, timeout=10)

    def cached_read() -> str:
        # A fresh client id each time, so the rate limit does not interfere with this probe.
        headers = {"X-Forwarded-For": f"probe-{time.monotonic_ns()}"}
        return client.get(f"/api/inventory/products/{sku}", headers=headers).headers["x-cache"]

    # act / assert: the cache works again...
    eventually(lambda: cached_read() == "hit", timeout=10, what="a cache hit after Redis is back")

    # ...and so does the limit, exactly: the first LIMIT requests of the window pass, the rest
    # get 429 with the seconds until the window ends
    me = {"X-Forwarded-For": f"client-{time.monotonic_ns()}"}
    at_least_this_long_in_one_rate_window(10)
    statuses = [client.get("/api/inventory/products", headers=me) for _ in range(LIMIT + 2)]
    assert [r.status_code for r in statuses] == [200] * LIMIT + [429] * 2
    limited = statuses[LIMIT]
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert "rate limit" in limited.json()["detail"]
