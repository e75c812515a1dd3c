"""Promise: a client that sends its request body too slowly gets a JSON 408 within the body
deadline and its connection is closed; it does not hold the server for ever. A normal request
is unaffected, and so is one whose body arrived in time while the server itself was stopped
(the local campaign of seed 599876, 6 Dec 2026: the gateway, paused by the nemesis for 10 s
right after an order's headers, woke past its deadline and answered 408 for a body that had
been waiting in its socket all along)."""

import contextlib
import json
import select
import signal
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
import pytest

from suites.system.stack import Service, Stack, new_product, order_body
from suites.waiting import scaled

DEADLINE_SECONDS = 1.0
#: A byte this often: ten bytes a second, far slower than any real client.
DRIBBLE_EVERY_SECONDS = 0.1


@pytest.fixture(scope="module")
def gateway(stack: Stack) -> Service:
    """A gateway with a short body deadline, so the test is quick."""
    overrides = {"REQUEST_BODY_TIMEOUT_SECONDS": str(DEADLINE_SECONDS)}
    return stack.start_extra("api_gateway", stack.gateway, overrides)


@dataclass(frozen=True)
class SlowClientResult:
    answer: bytes
    seconds_to_answer: float | None
    closed_by_server: bool


def _dribble_a_body(url: str, give_up_after: float) -> SlowClientResult:
    """Send an order's headers at once, then its body a byte at a time, until the server
    answers and hangs up (or `give_up_after` seconds)."""
    address = urlsplit(url)
    assert address.hostname is not None
    assert address.port is not None
    head = (
        b"POST /api/orders HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        b"Content-Length: 1000\r\n\r\n"
    )
    answer = b""
    answered_after: float | None = None
    with socket.create_connection((address.hostname, address.port), timeout=5) as sock:
        sock.sendall(head)
        started = time.monotonic()
        while time.monotonic() - started < give_up_after:
            readable, _, _ = select.select([sock], [], [], DRIBBLE_EVERY_SECONDS)
            if not readable:
                # The server may have stopped reading; what it answered is still to be read.
                with contextlib.suppress(OSError):
                    sock.sendall(b" ")
                continue
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                return SlowClientResult(answer, answered_after, closed_by_server=True)
            answered_after = answered_after or time.monotonic() - started
            answer += chunk
    return SlowClientResult(answer, answered_after, closed_by_server=False)


def test_a_body_sent_too_slowly_gets_a_json_408_within_the_deadline(gateway: Service) -> None:
    # act
    result = _dribble_a_body(gateway.url, give_up_after=DEADLINE_SECONDS + scaled(5))

    # assert: a 408 with the JSON error body, in time, and the connection closed
    assert result.answer, "no answer while the body trickled in"
    head, _, body = result.answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408"), head.decode(errors="replace")
    error = json.loads(body)
    assert error["status"] == 408
    assert "body" in error["detail"]
    assert result.seconds_to_answer is not None
    assert result.seconds_to_answer < DEADLINE_SECONDS + scaled(1.0), result.seconds_to_answer
    assert result.closed_by_server, "the server kept the slow client's connection open"


def test_a_normal_order_is_unaffected_by_the_body_deadline(
    gateway: Service, inventory_url: str
) -> None:
    # arrange
    sku = new_product(inventory_url, 5)

    # act
    response = httpx.post(f"{gateway.url}/api/orders", json=order_body((sku, 1)), timeout=10)

    # assert
    assert response.status_code == 201, response.text


def _order_sent_while_the_server_is_stopped(gateway: Service, order: bytes) -> bytes:
    """Send an order's headers, let the server begin reading its body (its deadline starts),
    stop the server, send the whole body at once, keep the server stopped past the deadline,
    let it go on: its answer."""
    address = urlsplit(gateway.url)
    assert address.hostname is not None
    assert address.port is not None
    head = (
        b"POST /api/orders HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        b"Connection: close\r\nContent-Length: " + str(len(order)).encode() + b"\r\n\r\n"
    )
    with socket.create_connection((address.hostname, address.port), timeout=15) as sock:
        sock.sendall(head)
        time.sleep(DEADLINE_SECONDS / 4)  # the headers read, the body's deadline running
        gateway.process.signal(signal.SIGSTOP)
        try:
            sock.sendall(order)
            time.sleep(DEADLINE_SECONDS * 2)
        finally:
            gateway.process.signal(signal.SIGCONT)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def test_a_body_that_arrived_while_the_server_was_stopped_is_read_not_408(
    gateway: Service, inventory_url: str
) -> None:
    # arrange
    sku = new_product(inventory_url, 5)

    # act: the whole body sent at once, while the server is stopped past its deadline
    answer = _order_sent_while_the_server_is_stopped(
        gateway, json.dumps(order_body((sku, 1))).encode()
    )

    # assert: the order was read and placed
    head = answer.partition(b"\r\n")[0].decode(errors="replace")
    assert head.startswith("HTTP/1.1 201"), answer.decode(errors="replace")


def test_the_openapi_document_lists_the_408_of_each_operation_with_a_body(
    gateway: Service,
) -> None:
    # act
    document = httpx.get(f"{gateway.url}/openapi.json", timeout=5).json()

    # assert
    with_body = [
        (method.upper(), path, operation["responses"])
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if "requestBody" in operation
    ]
    assert with_body, "the gateway should take at least the order body"
    undocumented = [
        (method, path) for method, path, responses in with_body if "408" not in responses
    ]
    assert not undocumented, f"operations without their 408: {undocumented}"
