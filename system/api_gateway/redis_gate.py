"""Redis as an optional helper: catalogue cache and per-client rate limit.

Every Redis call is bounded by a short timeout, and after one failure Redis is skipped for a
cool-down period. While Redis is away the gateway serves uncached and unlimited.

A busy pool is not a failure: when every pooled connection is in use, a call waits a bounded
time for one. Only that call goes without Redis if none frees up; the cool-down is for Redis
failing, and starting it under load would switch the limiter off exactly when it matters.
"""

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

T = TypeVar("T")

CACHE_PREFIX = "gateway:catalogue:"
RATE_PREFIX = "gateway:ratelimit:"
WINDOW_SECONDS = 60


def redis_client(
    host: str, port: int, password: str, timeout: float, max_connections: int
) -> "Redis":
    return Redis(
        host=host,
        port=port,
        password=password or None,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        # redis-py retries with backoff by default; here a failure must be cheap, not slow.
        retry=Retry(NoBackoff(), 0),
        # Never reached: RedisGate lets at most this many calls in at once (its semaphore), so
        # the pool's "Too many connections" error cannot happen.
        max_connections=max_connections,
    )


class RedisGate:
    def __init__(
        self,
        client: "Redis",
        cooldown_seconds: float,
        *,
        max_connections: int,
        pool_wait_seconds: float,
    ) -> None:
        self._client = client
        self._cooldown = cooldown_seconds
        self._skip_until = 0.0
        # One permit per pooled connection: a call holds one for all of its commands.
        self._connections = asyncio.Semaphore(max_connections)
        self._pool_wait = pool_wait_seconds

    @property
    def available(self) -> bool:
        return time.monotonic() >= self._skip_until

    async def _try(self, call: Callable[[], Awaitable[T]]) -> T | None:
        if not self.available:
            return None
        try:
            async with asyncio.timeout(self._pool_wait):
                await self._connections.acquire()
        except TimeoutError:
            log.warning(
                "every redis connection busy; this request goes without cache and rate limit",
                extra={"waited_s": self._pool_wait},
            )
            return None
        try:
            # Redis may have failed while this call waited for a connection.
            if not self.available:
                return None
            return await call()
        # RuntimeError: uvloop's answer to a write on a connection whose peer reset it ("unable
        # to perform operation on <TCPTransport closed=True>"), which redis-py passes through;
        # the fault campaign met it as 500s after a reset of the gateway's Redis link.
        except (RedisError, OSError, TimeoutError, RuntimeError) as exc:
            self._skip_until = time.monotonic() + self._cooldown
            log.warning(
                "redis unavailable; serving without cache and rate limit",
                extra={"error": f"{type(exc).__name__}: {exc}", "retry_in_s": self._cooldown},
            )
            return None
        finally:
            self._connections.release()

    async def cached(self, key: str) -> bytes | None:
        async def get() -> bytes | None:
            value = await self._client.get(CACHE_PREFIX + key)
            return value if isinstance(value, bytes) else None

        return await self._try(get)

    async def cache(self, key: str, value: bytes, ttl_seconds: float) -> None:
        if ttl_seconds > 0:
            ttl_ms = int(ttl_seconds * 1000)
            await self._try(lambda: self._client.set(CACHE_PREFIX + key, value, px=ttl_ms))

    async def invalidate(self, keys: list[str]) -> None:
        await self._try(lambda: self._client.delete(*(CACHE_PREFIX + k for k in keys)))

    async def over_limit(self, client_id: str, limit: int) -> int | None:
        """Count a request; seconds until the window resets if over `limit`, else None."""
        now = time.time()
        window = int(now // WINDOW_SECONDS)
        key = f"{RATE_PREFIX}{client_id}:{window}"

        async def count() -> int:
            hits = int(await self._client.incr(key))
            if hits == 1:
                # Only the window's first request pays for the expiry. Should that call be
                # lost, the key is still never read after its window (the name has the window).
                await self._client.expire(key, WINDOW_SECONDS + 1)
            return hits

        hits = await self._try(count)
        if hits is None or hits <= limit:
            return None
        return max(1, math.ceil((window + 1) * WINDOW_SECONDS - now))

    async def close(self) -> None:
        await self._client.aclose()
