"""After a database restart, no request is handed a connection the old server ended.

Finding 16 of docs/live-suites.md: a live run restarted order-db, and the next order failed 503
"AdminShutdown" because order-service's pool still held connections of the old server. Here the
server ends every pooled connection (``pg_terminate_backend``, the same AdminShutdown a restart
sends), and the requests that follow must all succeed. The negative control shows that a pool
without the connection check hands out a dead connection.
"""

import asyncio
from collections.abc import Awaitable, Callable

import httpx
import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from suites.system.stack import Infra, Stack, new_product, order_body
from system.common import postgres

#: More dead connections than one request can try within its wait (psycopg_pool tries the next
#: at once, then after 1 s, then after 2 s).
POOL_SIZE = 4
#: pg_terminate_backend only signals a backend; it waits this long (ms) for each to be gone.
TERMINATE_WAIT_MS = 5000


def _end_pooled_connections(infra: Infra, dbname: str) -> int:
    """End every idle connection of the services (application_name demo-micro), as a restart
    ends them, and wait until their backends are gone; how many there were. (Idle only: a
    session in the middle of a query is an outage for its request, not a dead pooled one.)"""
    with infra.db(dbname) as conn:
        row = conn.execute(
            "SELECT count(pg_terminate_backend(pid, %s)) FROM pg_stat_activity"
            " WHERE datname = %s AND application_name = 'demo-micro' AND state = 'idle'",
            (TERMINATE_WAIT_MS, dbname),
        ).fetchone()
    assert row is not None
    return int(row[0])


async def _fill(pool: AsyncConnectionPool) -> None:
    """Make the pool hold POOL_SIZE idle connections (all taken at once, then returned)."""

    async def hold(barrier: asyncio.Barrier) -> None:
        async with pool.connection() as conn:
            await conn.execute("SELECT 1")
            await barrier.wait()

    barrier = asyncio.Barrier(POOL_SIZE)
    await asyncio.gather(*(hold(barrier) for _ in range(POOL_SIZE)))
    assert pool.get_stats()["pool_available"] == POOL_SIZE


def _queries_after_the_server_ended_the_pool(
    infra: Infra, make_pool: Callable[[str], AsyncConnectionPool]
) -> list[str]:
    """Fill a pool, end all its connections, then run one query per connection it held.

    Returns what each query met: "ok" or the error's class name."""
    dsn = postgres.conninfo("127.0.0.1", infra.postgres_port, "inventory", "demo", "")

    async def run() -> list[str]:
        pool = make_pool(dsn)
        await pool.open(wait=True)
        try:
            await _fill(pool)
            assert await asyncio.to_thread(_end_pooled_connections, infra, "inventory") >= 1
            outcomes = []
            for _ in range(POOL_SIZE):
                try:
                    async with pool.connection() as conn:
                        await conn.execute("SELECT 1")
                    outcomes.append("ok")
                except psycopg.Error as exc:
                    outcomes.append(type(exc).__name__)
            return outcomes
        finally:
            await pool.close()

    return asyncio.run(run())


def test_the_services_pool_replaces_the_connections_a_restart_ended(infra: Infra) -> None:
    # arrange / act: the services' pool, full, its connections ended, then used
    outcomes = _queries_after_the_server_ended_the_pool(
        infra, lambda dsn: postgres.create_pool(dsn, max_size=POOL_SIZE)
    )

    # assert: every query was served
    assert outcomes == ["ok"] * POOL_SIZE


def test_negative_control_a_pool_without_the_check_hands_out_dead_connections(
    infra: Infra,
) -> None:
    def unchecked(dsn: str) -> AsyncConnectionPool:
        return AsyncConnectionPool(dsn, min_size=1, max_size=POOL_SIZE, open=False, timeout=2)

    # arrange / act: the same, with psycopg_pool's defaults (no check)
    outcomes = _queries_after_the_server_ended_the_pool(infra, unchecked)

    # assert: a dead connection was handed out, and its query failed
    assert "AdminShutdown" in outcomes, outcomes


async def _concurrently(
    count: int, request: Callable[[httpx.AsyncClient], Awaitable[int]]
) -> list[int]:
    async with httpx.AsyncClient(timeout=10) as client:
        return list(await asyncio.gather(*(request(client) for _ in range(count))))


@pytest.mark.parametrize("dbname", ["inventory", "orders"])
def test_no_request_fails_after_the_database_ended_every_connection(
    stack: Stack, dbname: str
) -> None:
    sku = new_product(stack.inventory.url, stock=1000)

    async def read_product(client: httpx.AsyncClient) -> int:
        return (await client.get(f"{stack.inventory.url}/products/{sku}")).status_code

    async def place_order(client: httpx.AsyncClient) -> int:
        response = await client.post(f"{stack.orders.url}/orders", json=order_body((sku, 1)))
        return response.status_code

    request, success = (read_product, 200) if dbname == "inventory" else (place_order, 201)
    # arrange: several requests at once leave several connections idle in the service's pool
    assert set(asyncio.run(_concurrently(POOL_SIZE, request))) == {success}

    # act: the database ends them; then requests one by one, and several at once
    assert _end_pooled_connections(stack.infra, dbname) >= 1
    statuses = [asyncio.run(_concurrently(1, request))[0] for _ in range(2 * POOL_SIZE)]
    statuses += asyncio.run(_concurrently(POOL_SIZE, request))

    # assert: none of them was handed a dead connection
    assert statuses == [success] * len(statuses)
