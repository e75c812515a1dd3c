"""Promise: on SIGTERM a service stops taking new connections but finishes in-flight requests."""

import signal
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import httpx
import psycopg
import pytest

from suites.system.stack import Service, Stack, new_product, order_body
from suites.waiting import eventually, scaled
from system.common.sigterm import EXIT_CODE

IN_FLIGHT = 5


@contextmanager
def row_locked(stack: Stack, sku: str) -> Iterator[psycopg.Connection[Any]]:
    """Hold the product's row lock, so reservations of it wait (in flight) until released."""
    conn = psycopg.connect(f"host=127.0.0.1 port={stack.infra.postgres_port} user=demo "
                           "dbname=inventory")  # fmt: skip
    try:
        conn.execute("SELECT 1 FROM products WHERE sku = %s FOR UPDATE", (sku,))
        yield conn
    finally:
        conn.rollback()
        conn.close()


def _waiting_on_locks(stack: Stack) -> int:
    with stack.infra.db("inventory") as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
        ).fetchone()
        assert row is not None
        return int(row[0])


def _refuses_new_connections(url: str) -> bool:
    try:
        httpx.get(f"{url}/healthz", timeout=0.5)
    except httpx.TransportError:
        return True
    return False


def _sigterm_during(
    stack: Stack, service: Service, sku: str, send: Callable[[int], httpx.Response]
) -> tuple[list[httpx.Response], int]:
    """Start IN_FLIGHT blocked requests, SIGTERM the service, then let the requests finish."""
    with ThreadPoolExecutor(IN_FLIGHT) as pool:
        futures: list[Future[httpx.Response]] = []
        with row_locked(stack, sku):
            futures = [pool.submit(send, i) for i in range(IN_FLIGHT)]
            eventually(
                lambda: _waiting_on_locks(stack) >= IN_FLIGHT,
                timeout=10,
                what=f"{IN_FLIGHT} requests waiting on the product's row lock",
            )
            service.process.signal(signal.SIGTERM)
            eventually(
                lambda: _refuses_new_connections(service.url),
                timeout=10,
                what="the service to stop accepting connections after SIGTERM",
            )
            assert not any(f.done() for f in futures), "requests finished before the lock went"
        responses = [f.result(timeout=scaled(20)) for f in futures]
    assert service.process.proc is not None
    exit_code = service.process.proc.wait(timeout=scaled(20))
    return responses, exit_code


@pytest.mark.parametrize("package", ["inventory_service", "api_gateway"])
def test_sigterm_lets_in_flight_requests_complete(stack: Stack, package: str) -> None:
    # arrange: a separate instance (the shared one keeps serving the other tests)
    base = stack.inventory if package == "inventory_service" else stack.gateway
    service = stack.start_extra(package, base)
    sku = new_product(stack.inventory.url, 100)
    if package == "inventory_service":
        url, body = f"{service.url}/reservations", None
    else:
        url, body = f"{service.url}/api/orders", order_body((sku, 1))

    def send(i: int) -> httpx.Response:
        payload = body or {"key": f"sigterm-{sku}-{i}", "items": [{"sku": sku, "quantity": 1}]}
        return httpx.post(url, json=payload, timeout=30)

    # act
    responses, exit_code = _sigterm_during(stack, service, sku, send)

    # assert: every in-flight request got its full, successful answer; the process ended itself
    assert [r.status_code for r in responses] == [201] * IN_FLIGHT
    assert all(r.json()["status"] in ("reserved", "confirmed") for r in responses)
    # uvicorn re-raises the SIGTERM after its graceful shutdown into the service's early handler
    # (system/common/sigterm.py), hence 143 rather than 0.
    assert exit_code == EXIT_CODE, exit_code
    assert "Application shutdown complete" in service.process.log_tail(10)
