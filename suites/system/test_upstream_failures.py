"""Promise: a failing backend becomes a prompt 503/504 JSON error at the gateway, never a hang."""

import socket
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
