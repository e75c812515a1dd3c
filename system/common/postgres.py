"""PostgreSQL connection pool and idempotent schema creation shared by two services."""

import asyncio
import logging
import time

import psycopg
from psycopg.conninfo import make_conninfo
from psycopg_pool import AsyncConnectionPool

log = logging.getLogger(__name__)


def conninfo(host: str, port: int, dbname: str, user: str, password: str) -> str:
    """A libpq connection string with a short connect timeout."""
    return make_conninfo(
        host=host,
        port=port,
        dbname=dbname,
        user=user,
        password=password,
        connect_timeout=3,
        application_name="demo-micro",
    )


def create_pool(dsn: str, max_size: int) -> AsyncConnectionPool:
    """A pool that is opened later (in the lifespan) and waits at most 5 s for a connection."""
    return AsyncConnectionPool(
        dsn, min_size=1, max_size=max_size, open=False, timeout=5.0, name="db"
    )


async def open_with_schema(pool: AsyncConnectionPool, ddl: str, startup_timeout: float) -> None:
    """Open the pool and apply `ddl` (idempotent), retrying until the database answers."""
    await pool.open(wait=False)
    deadline = time.monotonic() + startup_timeout
    delay = 0.2
    while True:
        try:
            async with pool.connection() as conn:
                # Two replicas may start together; serialise their DDL.
                await conn.execute("SELECT pg_advisory_xact_lock(727274)")
                await conn.execute(ddl)
            return
        except (psycopg.OperationalError, psycopg.errors.UniqueViolation) as exc:
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"database not reachable within {startup_timeout}s: {exc}"
                ) from exc
            log.warning("database not ready yet, retrying", extra={"error": str(exc)})
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)


async def ping(pool: AsyncConnectionPool) -> None:
    """Raise unless a connection answers SELECT 1."""
    async with pool.connection(timeout=2.0) as conn:
        await conn.execute("SELECT 1")
