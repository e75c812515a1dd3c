"""api-gateway: wiring only."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from system.api_gateway import upstream
from system.api_gateway.api import Backends, router
from system.api_gateway.config import Settings
from system.api_gateway.proxies import TrustedProxies
from system.api_gateway.redis_gate import RedisGate, redis_client
from system.api_gateway.upstream import Upstream
from system.common.app import create_service_app

SERVICE = "api-gateway"


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        http = upstream.session(
            connect_seconds=settings.upstream_connect_timeout_seconds,
            read_seconds=settings.upstream_read_timeout_seconds,
            pool_wait_seconds=2.0,
            max_connections=settings.upstream_max_connections,
        )
        rotate = settings.upstream_rotate_every
        redis = RedisGate(
            redis_client(
                settings.redis_host,
                settings.redis_port,
                settings.redis_password.get_secret_value(),
                settings.redis_timeout_seconds,
                settings.redis_max_connections,
            ),
            settings.redis_cooldown_seconds,
            max_connections=settings.redis_max_connections,
            pool_wait_seconds=settings.redis_pool_wait_seconds,
        )
        proxies = TrustedProxies(settings.trusted_proxy_cidrs, settings.trusted_proxy_hosts)
        await proxies.refresh()
        refreshing = asyncio.create_task(proxies.keep_fresh(settings.trusted_proxy_refresh_seconds))
        app.state.backends = Backends(
            inventory=Upstream("inventory-service", settings.inventory_service_url, http, rotate),
            orders=Upstream("order-service", settings.order_service_url, http, rotate),
            notifications=Upstream(
                "notification-service", settings.notification_service_url, http, rotate
            ),
            redis=redis,
            cache_ttl_seconds=settings.cache_ttl_seconds,
            rate_limit_per_minute=settings.rate_limit_per_minute,
            trusted_proxies=proxies,
        )
        yield
        refreshing.cancel()
        await http.close()
        await redis.close()

    # Readiness is the gateway itself: Redis is optional by design (serving continues without
    # it), and each backend has its own readiness probe behind its own Service.
    return create_service_app(
        service=SERVICE,
        settings=settings,
        routers=[router],
        checks=[],
        lifespan=lifespan,
        max_concurrent_requests=settings.max_concurrent_requests,
    )
