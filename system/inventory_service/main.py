"""inventory-service: wiring only."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from system.common import postgres
from system.common.app import create_service_app
from system.common.health import DependencyCheck
from system.inventory_service.api import router
from system.inventory_service.config import Settings
from system.inventory_service.store import SCHEMA, InventoryStore

SERVICE = "inventory-service"


def create_app(settings: Settings) -> FastAPI:
    pool = postgres.create_pool(
        postgres.conninfo(
            settings.inventory_db_host,
            settings.inventory_db_port,
            settings.inventory_db_name,
            settings.inventory_db_user,
            settings.inventory_db_password.get_secret_value(),
        ),
        max_size=settings.db_pool_size,
    )
    schema = postgres.Schema(pool, SCHEMA)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await pool.open(wait=False)
        app.state.store = InventoryStore(pool)
        app.state.read_deadline_seconds = settings.read_deadline_seconds
        app.state.write_deadline_seconds = settings.write_deadline_seconds
        applying = asyncio.create_task(schema.apply(), name="schema")
        yield
        applying.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await applying
        await pool.close()

    return create_service_app(
        service=SERVICE,
        settings=settings,
        routers=[router],
        checks=[
            DependencyCheck("inventory-db", lambda: postgres.ping(pool)),
            DependencyCheck("schema", schema.check),
        ],
        lifespan=lifespan,
    )
