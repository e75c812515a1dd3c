"""No request waits on PostgreSQL longer than its client does.

During a database outage a request must be answered 503 before the client's 5 s timeout: a wait
for a pooled connection is bounded, and a connection whose server vanished without a FIN or RST
(the pod's network namespace gone) is dropped by TCP keepalives instead of waiting forever.
"""

import asyncio
import socket
import time

import psycopg
import pytest

from suites.system.servers import free_port
from suites.system.stack import Infra
from system.common import postgres

#: What the gateway's callers and the live traffic probe wait before giving up.
CLIENT_TIMEOUT_SECONDS = 5.0


def test_a_request_that_finds_no_database_fails_before_the_client_gives_up() -> None:
    nothing_listens = postgres.conninfo("127.0.0.1", free_port(), "orders", "demo", "")

    async def wait_for_a_connection() -> float:
        pool = postgres.create_pool(nothing_listens, max_size=2)
        await pool.open(wait=False)
        started = time.monotonic()
        try:
            with pytest.raises(psycopg.OperationalError):  # answered 503 by the services
                async with pool.connection():
                    pass
            return time.monotonic() - started
        finally:
            await pool.close()

    waited = asyncio.run(wait_for_a_connection())
    assert waited < CLIENT_TIMEOUT_SECONDS - 2, (
        f"a request waited {waited:.1f}s for a connection; the client gives up after "
        f"{CLIENT_TIMEOUT_SECONDS}s and needs the 503 before that"
    )


def test_connections_detect_a_vanished_server_with_tcp_keepalives(infra: Infra) -> None:
    dsn = postgres.conninfo("127.0.0.1", infra.postgres_port, "orders", "demo", "")
    with psycopg.connect(dsn) as conn:
        sock = socket.socket(fileno=conn.fileno())
        try:
            assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
            idle = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE)
            user_timeout = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT)
        finally:
            sock.detach()  # the socket belongs to libpq
    assert idle == postgres.KEEPALIVE_IDLE_SECONDS
    assert user_timeout == postgres.TCP_USER_TIMEOUT_MS
    # A query on a dead connection fails within the user timeout (+ the first probe's idle
    # time), which must leave the service time to answer 503 before the client gives up.
    assert idle + user_timeout / 1000 < CLIENT_TIMEOUT_SECONDS


def test_without_keepalives_the_socket_would_wait_forever(infra: Infra) -> None:
    """Negative control: libpq's defaults leave the kernel's 2 h keepalive idle time."""
    dsn = f"host=127.0.0.1 port={infra.postgres_port} dbname=orders user=demo keepalives=0"
    with psycopg.connect(dsn) as conn:
        sock = socket.socket(fileno=conn.fileno())
        try:
            assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 0
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT) == 0
        finally:
            sock.detach()
