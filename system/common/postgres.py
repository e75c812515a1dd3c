"""PostgreSQL connection pool and idempotent schema creation shared by two services."""

import asyncio
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import psycopg
from psycopg.conninfo import make_conninfo
from psycopg_pool import AsyncConnectionPool

from system.common import retrying

log = logging.getLogger(__name__)

T = TypeVar("T")


#: How long a request waits for a pooled connection before it is answered 503. Clients (the
#: gateway's callers, the traffic probe) give up after 5 s; during a database outage a request
#: that waited 5 s for the pool answered just too late to count as a clean failure.
POOL_WAIT_SECONDS = 2.0
#: A database that vanished without closing its connections (pod killed, its network namespace
#: gone: no FIN, no RST) is noticed by TCP keepalive probes: one after 1 s of silence, and the
#: connection is dropped when nothing has answered for TCP_USER_TIMEOUT. A query waiting for its
#: result on such a connection then fails instead of waiting forever.
KEEPALIVE_IDLE_SECONDS = 1
KEEPALIVE_INTERVAL_SECONDS = 1
KEEPALIVE_COUNT = 2
TCP_USER_TIMEOUT_MS = 3000


def conninfo(host: str, port: int, dbname: str, user: str, password: str) -> str:
    """A libpq connection string with a short connect timeout and dead-peer detection."""
    return make_conninfo(
        host=host,
        port=port,
        dbname=dbname,
        user=user,
        password=password,
        connect_timeout=3,
        keepalives=1,
        keepalives_idle=KEEPALIVE_IDLE_SECONDS,
        keepalives_interval=KEEPALIVE_INTERVAL_SECONDS,
        keepalives_count=KEEPALIVE_COUNT,
        tcp_user_timeout=TCP_USER_TIMEOUT_MS,
        application_name="demo-micro",
    )


def create_pool(dsn: str, max_size: int) -> AsyncConnectionPool:
    """A pool that is opened later (in the lifespan); a request waits at most
    POOL_WAIT_SECONDS for a connection, then fails with PoolTimeout (answered 503). (Checking a
    connection to a server that vanished takes as long as a query on it: the keepalive time.)

    A restarted database ends every connection of its old server (AdminShutdown), and the pool
    would hand those idle, dead connections to the next requests. So each connection is checked
    when a request takes it (an empty query, one round trip), and the first one found dead
    empties the pool of the idle others, which died with it: the request then waits for a new
    connection instead of trying the dead ones one by one (psycopg_pool retries at once, then
    after 1 s, then 2 s: a pool holding three or more dead connections outlasted the request's
    wait). A connection that died alone costs the idle healthy ones too, and checks failing
    together drain more than once; both only mean new connections, a few milliseconds each.
    """
    pool: AsyncConnectionPool

    async def check(conn: psycopg.AsyncConnection[Any]) -> None:
        try:
            await AsyncConnectionPool.check_connection(conn)
        except psycopg.OperationalError as exc:
            log.warning(
                "a pooled connection was dead; replacing the idle ones",
                extra={"error": str(exc)},
            )
            await pool.drain()
            raise

    pool = AsyncConnectionPool(
        dsn,
        min_size=1,
        max_size=max_size,
        open=False,
        timeout=POOL_WAIT_SECONDS,
        name="db",
        check=check,
    )
    return pool


#: What a query meets when the server ends its session under it: a restart or
#: pg_terminate_backend (AdminShutdown), a sibling backend's crash (CrashShutdown). The session is
#: gone and its open transaction with it.
SESSION_ENDED = (psycopg.errors.AdminShutdown, psycopg.errors.CrashShutdown)
#: A connection that broke sooner than this after the read began was closed by the server, not
#: found dead by the keepalive probes (which take KEEPALIVE_IDLE_SECONDS and more of silence).
BROKE_PROMPTLY_SECONDS = 1.0


def _session_ended(
    exc: psycopg.OperationalError, conn: psycopg.AsyncConnection[Any], took: float
) -> bool:
    """Whether the server ended the session under the query: it said so, or the connection broke
    at once without its message. The server's goodbye (AdminShutdown) is lost when the query
    reaches a socket it has closed already: the answer is a reset, which discards what was not
    read yet, and libpq reports "server closed the connection unexpectedly" (seen live on
    3 Dec 2026: an order read of 877 answered 503 OperationalError while order-db ended the
    services' sessions)."""
    return isinstance(exc, SESSION_ENDED) or (conn.broken and took < BROKE_PROMPTLY_SECONDS)


#: How many times a transaction is tried while the server keeps ending the session under it.
TRIES = 3
#: The longest a transaction waits for pooled connections over all its tries: two pool waits,
#: under the clients' 5 s.
TRIES_WAIT_SECONDS = 2 * POOL_WAIT_SECONDS


async def transaction(
    pool: AsyncConnectionPool, work: Callable[[psycopg.AsyncConnection[Any]], Awaitable[T]]
) -> T:
    """`work` in one transaction on a pooled connection, committed once it returns; run again,
    on a new session, when the server ended the session under one of its statements, up to
    TRIES in all.

    The pool's check finds a session that ended while idle, not one that ends between the check
    and the first statement: seen live when the database ended the services' sessions while
    requests were taking them (an order read of 824 answered 503 AdminShutdown). A session
    ended before the commit took its transaction with it: nothing of `work` happened, so running
    it again is safe, for a write as for a read. A commit that fails is never run again: whether
    it happened is unknown, and the request is answered 503.

    A server that ends one session ends the others too (a restart, or pg_terminate_backend over
    the idle sessions it listed a moment before): the pool's other idle connections are the
    next to go, and a second try on one of them met the same end (seen live on 5 Dec 2026: one
    catalogue read of 785 answered 503 AdminShutdown while inventory-db ended the services'
    sessions). So the pool is drained first, and the next try waits for a new session, which no
    such list holds. Up to TRIES only: a server that keeps ending sessions is an outage,
    answered 503. A connection found dead by the keepalive probes (a database that vanished) is
    not tried again: that took seconds already, and another pool wait would answer after the
    client gave up; and all the tries together wait at most TRIES_WAIT_SECONDS for connections.
    """
    gives_up_at = time.monotonic() + TRIES_WAIT_SECONDS
    for tries in range(1, TRIES + 1):
        started = time.monotonic()
        wait = max(0.0, min(POOL_WAIT_SECONDS, gives_up_at - started))
        async with pool.connection(timeout=wait) as conn:
            try:
                result = await work(conn)
            except psycopg.OperationalError as exc:
                if tries == TRIES or not _session_ended(exc, conn, time.monotonic() - started):
                    raise
                log.warning(
                    "the server ended a session under a transaction; trying it on a new one",
                    extra={"error": f"{type(exc).__name__}: {exc}", "tries": tries},
                )
            else:
                await conn.commit()
                return result
        await pool.drain()
    raise AssertionError("unreachable: the last try returns or raises")


class Schema:
    """A service's DDL, applied in the background once the database answers; the service is
    Ready only after it (`check`).

    A database out of reach at start-up (not started yet, or stranded on a lost node) leaves the
    pod running and not Ready. Exiting instead made Kubernetes restart the container with a
    growing back-off (up to 5 min), which then delayed the service's return after the database
    was back (notification-service's start-up did so on 3 Dec 2026; these two waited 60 s, then
    did the same).

    Re-applying DDL is not free even when it changes nothing: `ALTER TABLE … IF NOT EXISTS`
    and `CREATE INDEX IF NOT EXISTS` lock their table before they find there is nothing to do,
    and would queue every order behind them during a rollout. So the DDL's digest is recorded,
    and a pod that finds it is Ready without taking a lock.
    """

    def __init__(self, pool: AsyncConnectionPool, ddl: str) -> None:
        self._pool = pool
        self._ddl = ddl
        self._digest = hashlib.sha256(ddl.encode()).hexdigest()
        self._problem = "not applied yet"
        self.applied = asyncio.Event()

    async def apply(self) -> None:
        """Apply the DDL unless this very DDL was applied before, trying again until the database
        answers (a task of the lifespan; the pool must be open)."""

        def remember(exc: Exception) -> None:
            # Mostly the database not answering yet; a replica starting beside this one can
            # also win the race to record the DDL (UniqueViolation). Anything else is a fault
            # of the DDL or the database, shown while the pod stays not Ready.
            self._problem = f"not applied yet: {type(exc).__name__}: {exc}"[:300]

        await retrying.until_done(
            self._apply_once,
            "applying the schema",
            first_pause=0.2,
            max_pause=2.0,
            on_failure=remember,
        )
        self.applied.set()

    async def _apply_once(self) -> None:
        async with self._pool.connection() as conn:
            await conn.execute(SCHEMA_APPLIED_DDL)
            if await _applied(conn, self._digest):
                return
            # Two replicas may start together; serialise their DDL.
            await conn.execute("SELECT pg_advisory_xact_lock(727274)")
            if not await _applied(conn, self._digest):
                await conn.execute(self._ddl)
                await conn.execute(
                    "INSERT INTO schema_applied (ddl_sha256) VALUES (%s)", (self._digest,)
                )

    async def check(self) -> None:
        """Raise until the DDL is applied (a readiness check)."""
        if not self.applied.is_set():
            raise SchemaNotApplied(self._problem)


class SchemaNotApplied(Exception):
    """The service's schema is not in place yet: the service is not Ready."""


#: Which versions of a service's DDL this database has had applied (Schema).
SCHEMA_APPLIED_DDL = """
CREATE TABLE IF NOT EXISTS schema_applied (
    ddl_sha256 text PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


async def _applied(conn: psycopg.AsyncConnection[Any], digest: str) -> bool:
    cursor = await conn.execute("SELECT 1 FROM schema_applied WHERE ddl_sha256 = %s", (digest,))
    return await cursor.fetchone() is not None


async def ping(pool: AsyncConnectionPool) -> None:
    """Raise unless a connection answers SELECT 1."""
    async with pool.connection(timeout=2.0) as conn:
        await conn.execute("SELECT 1")
