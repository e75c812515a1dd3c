"""Builds a service's FastAPI app with the shared middleware, errors and health endpoints."""

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from fastapi import APIRouter, FastAPI

from system.common.draining import ConnectionCloseWhileDraining, DrainState, drain_router
from system.common.errors import install_error_handlers
from system.common.health import DependencyCheck, StuckCheck, health_router
from system.common.middleware import (
    UNCAPPED_PATHS,
    ConcurrencyCapMiddleware,
    RequestBodyLimitsMiddleware,
    RequestIdMiddleware,
)
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
    stuck_checks: Sequence[StuckCheck] = (),
    lifespan: Lifespan | None = None,
    max_concurrent_requests: int | None = None,
) -> FastAPI:
    """One FastAPI app wired the same way for all four services.

    With `max_concurrent_requests`, requests beyond that many in flight are refused with 503
    (the probes never are).
    """
    app = FastAPI(title=service, version=settings.app_version, lifespan=lifespan)
    install_error_handlers(app)
    drain = DrainState()
    app.include_router(
        health_router(service, settings.app_version, checks, drain=drain, stuck_checks=stuck_checks)
    )
    app.include_router(drain_router(drain))
    for router in routers:
        app.include_router(router)
    capped = max_concurrent_requests is not None
    describe_errors_as_sent(app, uncapped_paths=UNCAPPED_PATHS if capped else None)
    # Added last = outermost: the request id exists before the body limits answer 413 or 408,
    # and before the cap answers 503; the cap refuses before any body is read.
    app.add_middleware(
        RequestBodyLimitsMiddleware,
        max_bytes=settings.max_body_bytes,
        read_seconds=settings.request_body_timeout_seconds,
    )
    if max_concurrent_requests is not None:
        app.add_middleware(ConcurrencyCapMiddleware, limit=max_concurrent_requests)
    app.add_middleware(RequestIdMiddleware)
    app.add_middleware(ConnectionCloseWhileDraining, state=drain)
    return app
