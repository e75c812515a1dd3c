"""After a database restart, no request is handed a connection the old server ended.

Seen live: a run restarted order-db, and the next order failed 503
"AdminShutdown" because order-service's pool still held connections of the old server. Here the
server ends every pooled connection (``pg_terminate_backend``, the same AdminShutdown a restart
sends), and the requests that follow must all succeed. The negative control shows that a pool
without the connection check hands out a dead connection.
"""

import asyncio
import os
import socket
from collections.abc import Awaitable, Callable
from typing import Any

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


async def _fill(pool: AsyncConnectionPool) -> set[int]:
    """Make the pool hold POOL_SIZE idle connections (all taken at once, then returned); their
    sessions (backend pids)."""

    async def hold(barrier: asyncio.Barrier) -> int:
        async with pool.connection() as conn:
            await conn.execute("SELECT 1")
            await barrier.wait()
            return conn.info.backend_pid

    barrier = asyncio.Barrier(POOL_SIZE)
    sessions = set(await asyncio.gather(*(hold(barrier) for _ in range(POOL_SIZE))))
    assert pool.get_stats()["pool_available"] == POOL_SIZE
    return sessions


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


#: What a read in the tests below returns when it was served.
SERVED = 1
#: A query on a connection, as postgres.transaction takes it.
Query = Callable[[psycopg.AsyncConnection[tuple[Any, ...]]], Awaitable[int]]


async def _served(conn: psycopg.AsyncConnection[tuple[Any, ...]]) -> int:
    """The read itself: SERVED, from the server."""
    cursor = await conn.execute("SELECT %s::int", (SERVED,))
    row = await cursor.fetchone()
    assert row is not None
    return int(row[0])


def _outcome(
    infra: Infra, read: Callable[[AsyncConnectionPool, Query], Awaitable[int]], query: Query
) -> str:
    """Run `query` through `read` on a new pool of the services' kind: "ok", or the error's
    class name."""
    dsn = postgres.conninfo("127.0.0.1", infra.postgres_port, "inventory", "demo", "")

    async def run() -> str:
        pool = postgres.create_pool(dsn, max_size=POOL_SIZE)
        await pool.open(wait=True)
        try:
            assert await read(pool, query) == SERVED
            return "ok"
        except psycopg.Error as exc:
            return type(exc).__name__
        finally:
            await pool.close()

    return asyncio.run(run())


def _end_session(infra: Infra, pid: int) -> None:
    """End one session of the inventory database, and wait until its backend is gone."""
    with infra.db("inventory") as admin:
        admin.execute("SELECT pg_terminate_backend(%s, %s)", (pid, TERMINATE_WAIT_MS))


def _reads_with_their_sessions_ended(
    infra: Infra,
    read: Callable[[AsyncConnectionPool, Query], Awaitable[int]],
    *,
    end_sessions: int,
) -> tuple[str, int]:
    """Run one read through `read` whose session the server ends between the pool's check and
    the query (the race of a restart under traffic), on the first `end_sessions` tries.

    Returns what the read met ("ok" or the error's class name) and how many tries it made."""
    tries = 0

    async def query(conn: psycopg.AsyncConnection[tuple[Any, ...]]) -> int:
        nonlocal tries
        tries += 1
        if tries <= end_sessions:
            await asyncio.to_thread(_end_session, infra, conn.info.backend_pid)
        return await _served(conn)

    return _outcome(infra, read, query), tries


async def _read_once(pool: AsyncConnectionPool, query: Query) -> int:
    async with pool.connection() as conn:
        return await query(conn)


def test_a_read_whose_session_the_server_ended_is_read_again_on_another(infra: Infra) -> None:
    # arrange / act: the session ended after the check, before the query
    outcome, tries = _reads_with_their_sessions_ended(infra, postgres.transaction, end_sessions=1)

    # assert: served, by a second try
    assert (outcome, tries) == ("ok", 2)


def test_negative_control_a_read_tried_once_meets_the_ended_session(infra: Infra) -> None:
    # arrange / act: the same race, the read taking one pooled connection as before
    outcome, tries = _reads_with_their_sessions_ended(infra, _read_once, end_sessions=1)

    # assert: the pool's check passed the connection, and the read failed on it
    assert (outcome, tries) == ("AdminShutdown", 1)


async def _read_twice(pool: AsyncConnectionPool, query: Query) -> int:
    """The read of before 5 Dec 2026: once more on another pooled connection, the pool kept."""
    try:
        async with pool.connection() as conn:
            return await query(conn)
    except psycopg.errors.AdminShutdown:
        async with pool.connection() as conn:
            return await query(conn)


def test_a_read_whose_sessions_the_server_kept_ending_is_served_by_a_later_try(
    infra: Infra,
) -> None:
    # arrange / act: the session ended under each try but the last
    ended = postgres.TRIES - 1
    outcome, tries = _reads_with_their_sessions_ended(
        infra, postgres.transaction, end_sessions=ended
    )

    # assert: served, by the last try
    assert (outcome, tries) == ("ok", postgres.TRIES)


def test_negative_control_a_read_tried_twice_meets_the_second_ended_session(
    infra: Infra,
) -> None:
    # arrange / act: the same, read as before: once more only
    ended = postgres.TRIES - 1
    outcome, tries = _reads_with_their_sessions_ended(infra, _read_twice, end_sessions=ended)

    # assert: the second try met an ended session too
    assert (outcome, tries) == ("AdminShutdown", 2)


def test_a_read_gives_up_after_its_tries(infra: Infra) -> None:
    # arrange / act: a server that ends every session a read takes
    outcome, tries = _reads_with_their_sessions_ended(infra, postgres.transaction, end_sessions=99)

    # assert: the last failure is the answer (an outage, answered 503 by the services)
    assert (outcome, tries) == ("AdminShutdown", postgres.TRIES)


def _sessions_of_a_read_again(
    infra: Infra, read: Callable[[AsyncConnectionPool, Query], Awaitable[int]]
) -> tuple[set[int], int]:
    """Fill a pool with idle connections, then run one read through `read` whose first session
    the server ends under it (as a restart ends them all, starting with one).

    Returns the sessions (backend pids) idle in the pool before the read, and the session the
    read was served on."""
    dsn = postgres.conninfo("127.0.0.1", infra.postgres_port, "inventory", "demo", "")
    tried_on: list[int] = []

    async def query(conn: psycopg.AsyncConnection[tuple[Any, ...]]) -> int:
        tried_on.append(conn.info.backend_pid)
        if len(tried_on) == 1:
            await asyncio.to_thread(_end_session, infra, conn.info.backend_pid)
        return await _served(conn)

    async def run() -> set[int]:
        pool = postgres.create_pool(dsn, max_size=POOL_SIZE)
        await pool.open(wait=True)
        try:
            idle = await _fill(pool)
            assert await read(pool, query) == SERVED
            return idle
        finally:
            await pool.close()

    idle = asyncio.run(run())
    return idle, tried_on[-1]


def test_a_read_again_is_served_on_a_new_session_not_an_idle_one_of_before(
    infra: Infra,
) -> None:
    # arrange / act: a pool of idle sessions; the first one a read takes is ended under it
    idle, served_on = _sessions_of_a_read_again(infra, postgres.transaction)

    # assert: the read was served on a session opened after, which no list of the server's
    # sessions made before the end can hold
    assert served_on not in idle, (served_on, idle)


def test_negative_control_a_read_again_without_draining_takes_an_idle_session_of_before(
    infra: Infra,
) -> None:
    # arrange / act: the same, read again on the next pooled connection (the pool kept)
    idle, served_on = _sessions_of_a_read_again(infra, _read_twice)

    # assert: served on one of the sessions that were idle before (the next to be ended)
    assert served_on in idle, (served_on, idle)


def _writes(
    infra: Infra,
    run: Callable[[AsyncConnectionPool, Query], Awaitable[int]],
    *,
    end_session_at: str,
) -> tuple[str, int, int]:
    """Run one write through `run` (a row inserted into a table of its own) whose first
    session the server ends: "before the commit" (after the insert, before the transaction's
    end) or "at the commit" (the last thing the write does, so the end meets its commit).

    Returns what the write met ("ok" or the error's class name), how many tries it made, and how
    many rows it left."""
    table = f"written_{end_session_at.replace(' ', '_')}"
    with infra.db("inventory") as admin:
        admin.execute(f"DROP TABLE IF EXISTS {table}")
        admin.execute(f"CREATE TABLE {table} (n int)")
    tries = 0

    async def write(conn: psycopg.AsyncConnection[tuple[Any, ...]]) -> int:
        nonlocal tries
        tries += 1
        await conn.execute(f"INSERT INTO {table} VALUES (1)")
        if tries == 1:
            await asyncio.to_thread(_end_session, infra, conn.info.backend_pid)
            if end_session_at == "before the commit":
                await conn.execute("SELECT 1")
        return SERVED

    outcome = _outcome(infra, run, write)
    with infra.db("inventory") as admin:
        row = admin.execute(f"SELECT count(*) FROM {table}").fetchone()
        admin.execute(f"DROP TABLE {table}")
    assert row is not None
    return outcome, tries, int(row[0])


def test_a_write_whose_session_ended_before_its_commit_is_run_again_and_applied_once(
    infra: Infra,
) -> None:
    # arrange / act: the session ends after the insert, under the write's next statement
    outcome, tries, rows = _writes(infra, postgres.transaction, end_session_at="before the commit")

    # assert: served by a second try; the first insert went with its session
    assert (outcome, tries, rows) == ("ok", 2, 1)


def test_negative_control_a_write_tried_once_fails_when_its_session_ends(infra: Infra) -> None:
    # arrange / act: the same, on one pooled connection (as the services wrote before)
    outcome, tries, rows = _writes(infra, _read_once, end_session_at="before the commit")

    # assert: the request failed, and nothing was written
    assert (outcome, tries, rows) == ("AdminShutdown", 1, 0)


def test_a_write_whose_commit_failed_is_not_run_again(infra: Infra) -> None:
    # arrange / act: the session ends as the write commits
    outcome, tries, rows = _writes(infra, postgres.transaction, end_session_at="at the commit")

    # assert: the commit's failure is the answer (whether it happened is unknown: here it did
    # not), and the write was not run a second time
    assert (outcome, tries, rows) == ("AdminShutdown", 1, 0)


def test_a_read_that_fails_otherwise_is_not_read_again(infra: Infra) -> None:
    dsn = postgres.conninfo("127.0.0.1", infra.postgres_port, "inventory", "demo", "")
    tries = 0

    async def query(conn: psycopg.AsyncConnection[tuple[Any, ...]]) -> int:
        nonlocal tries
        tries += 1
        await conn.execute("SELECT * FROM no_such_table")
        return SERVED

    async def run() -> None:
        pool = postgres.create_pool(dsn, max_size=POOL_SIZE)
        await pool.open(wait=True)
        try:
            with pytest.raises(psycopg.errors.UndefinedTable):
                await postgres.transaction(pool, query)
        finally:
            await pool.close()

    # act
    asyncio.run(run())

    # assert: the query's own error is answered, not retried
    assert tries == 1


def _reads_whose_connection_breaks(
    infra: Infra,
    read: Callable[[AsyncConnectionPool, Query], Awaitable[int]],
    *,
    after_seconds: float,
) -> tuple[str, int]:
    """Run one read through `read` whose first connection breaks `after_seconds` into the query,
    with no word from the server (as when the query meets a socket the server had closed: a
    reset, which loses the server's AdminShutdown): the client's end of the socket is shut.

    Returns what the read met ("ok" or the error's class name) and how many tries it made."""
    tries = 0

    async def query(conn: psycopg.AsyncConnection[tuple[Any, ...]]) -> int:
        nonlocal tries
        tries += 1
        if tries == 1:
            await asyncio.sleep(after_seconds)
            with socket.socket(fileno=os.dup(conn.pgconn.socket)) as shared:
                shared.shutdown(socket.SHUT_RDWR)
        return await _served(conn)

    return _outcome(infra, read, query), tries


def test_a_read_whose_connection_broke_at_once_is_read_again_on_another(infra: Infra) -> None:
    # arrange / act: the connection breaks as the query is sent, without the server's message
    outcome, tries = _reads_whose_connection_breaks(infra, postgres.transaction, after_seconds=0)

    # assert: served, by a second try
    assert (outcome, tries) == ("ok", 2)


def test_negative_control_a_read_tried_once_meets_the_broken_connection(infra: Infra) -> None:
    # arrange / act: the same, the read taking one pooled connection
    outcome, tries = _reads_whose_connection_breaks(infra, _read_once, after_seconds=0)

    # assert: a bare OperationalError (no SQLSTATE: what the services answered 503 on 3 Dec)
    assert (outcome, tries) == ("OperationalError", 1)


def test_a_read_whose_connection_broke_late_is_not_read_again(infra: Infra) -> None:
    # arrange / act: the connection breaks after longer than the server takes to end a session
    # (as the keepalive probes find a database that vanished: seconds already spent)
    late = postgres.BROKE_PROMPTLY_SECONDS + 0.2
    outcome, tries = _reads_whose_connection_breaks(infra, postgres.transaction, after_seconds=late)

    # assert: answered at once (503 by the services), not after one more pool wait
    assert (outcome, tries) == ("OperationalError", 1)
