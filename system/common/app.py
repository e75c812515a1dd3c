"""Builds a service's FastAPI app with the shared middleware, errors and health endpoints."""

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from fastapi import APIRouter, FastAPI

from system.common.draining import ConnectionCloseWhileDraining, DrainState, drain_router
from system.common.errors import install_error_handlers
from system.common.health import DependencyCheck, health_router
from system.common.middleware import BodySizeLimitMiddleware, RequestIdMiddleware
from system.common.openapi import describe_errors_as_sent
from system.common.settings import ServiceSettings


class Lifespan(Protocol):
    def __call__(self, app: FastAPI) -> AbstractAsyncContextManager[Any]: ...


def create_service_app(
    *,
    service: str,
    settings: ServiceSettings,
    routers: Sequence[APIRouter],
    checks: Sequence[DependencyCheck],
    lifespan: Lifespan | None = None,
) -> FastAPI:
    """One FastAPI app wired the same way for all four services."""
    app = FastAPI(title=service, version=settings.app_version, lifespan=lifespan)
    install_error_handlers(app)
    drain = DrainState()
    app.include_router(health_router(service, settings.app_version, checks, drain=drain))
    app.include_router(drain_router(drain))
    for router in routers:
        app.include_router(router)
    describe_errors_as_sent(app)
    # Added last = outermost: the request id exists before the size check answers 413.
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestIdMiddleware)
    app.add_middleware(ConnectionCloseWhileDraining, state=drain)
    return app
