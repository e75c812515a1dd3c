"""Promise: a failing backend becomes a prompt 503/504 JSON error at the gateway, never a hang."""

import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from suites.system import servers
from suites.system.stack import Service, Stack
from suites.waiting import scaled


@pytest.fixture(scope="module")
def black_hole() -> Iterator[str]:
    """A port that accepts connections and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture(scope="module")
def broken_gateway(stack: Stack, black_hole: str) -> Service:
    """A gateway whose order backend is not listening and whose inventory never answers."""
    return stack.start_extra(
        "api_gateway",
        stack.gateway,
        {
            "ORDER_SERVICE_URL": f"http://127.0.0.1:{servers.free_port()}",
            "INVENTORY_SERVICE_URL": black_hole,
            "UPSTREAM_READ_TIMEOUT_SECONDS": "1",
        },
    )


def test_an_unreachable_backend_gives_a_prompt_503_json_error(broken_gateway: Service) -> None:
    # act
    started = time.monotonic()
    response = httpx.get(f"{broken_gateway.url}/api/orders", timeout=10)
    elapsed = time.monotonic() - started

    # assert
    assert response.status_code == 503
    assert "order-service" in response.json()["detail"]
    assert elapsed < scaled(2)


def test_a_backend_that_does_not_answer_gives_a_504_after_the_read_timeout(
    broken_gateway: Service,
) -> None:
    # act
    started = time.monotonic()
    response = httpx.get(f"{broken_gateway.url}/api/inventory/products", timeout=10)
    elapsed = time.monotonic() - started

    # assert
    assert response.status_code == 504
    assert "inventory-service" in response.json()["detail"]
    assert elapsed < scaled(3)


@pytest.fixture
def hanging_up() -> Iterator[str]:
    """A backend that reads each request and closes the connection without an answer, as a pod
    killed mid-request does."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.recv(65536)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        listener.close()


def test_a_backend_that_hangs_up_mid_request_gives_a_503(stack: Stack, hanging_up: str) -> None:
    # arrange: order-service going away after it took the request (found by the campaign: 502)
    gateway = stack.start_extra("api_gateway", stack.gateway, {"ORDER_SERVICE_URL": hanging_up})

    # act
    response = httpx.get(f"{gateway.url}/api/orders", timeout=10)

    # assert: unavailable, retry later — not "the backend failed"
    assert response.status_code == 503, response.text
    assert "order-service" in response.json()["detail"]
