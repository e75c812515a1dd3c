"""Promise: one request id follows a request across every hop, and every log line is one
JSON object with service, version, request_id, level and message."""

import json
import uuid
from typing import Any

import httpx

from suites.system.stack import Service, Stack, new_product, order_body
from suites.waiting import eventually

REQUIRED_FIELDS = {"service", "version", "request_id", "level", "message"}


def _log_lines(service: Service) -> list[dict[str, Any]]:
    text = service.process.log_path.read_text()
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _logged(service: Service, request_id: str) -> bool:
    return any(line["request_id"] == request_id for line in _log_lines(service))


def test_the_callers_request_id_is_echoed_and_logged_by_every_service_on_the_path(
    stack: Stack, gateway_url: str, inventory_url: str
) -> None:
    # arrange
    sku = new_product(inventory_url, 5)
    request_id = f"trace-{uuid.uuid4().hex}"

    # act
    response = httpx.post(
        f"{gateway_url}/api/orders",
        json=order_body((sku, 1)),
        headers={"X-Request-ID": request_id},
        timeout=10,
    )

    # assert: echoed, and logged by every service the order passed through, the queue included
    assert response.headers["x-request-id"] == request_id
    for service in (stack.gateway, stack.orders, stack.inventory, stack.notifications):
        eventually(
            lambda: _logged(service, request_id),  # noqa: B023 - called before the loop moves on
            timeout=10,
            what=f"{service.process.name} to log request id {request_id}",
            retry_on=(json.JSONDecodeError,),  # the last line may be half written
        )


def test_a_request_without_an_id_gets_a_fresh_one(gateway_url: str) -> None:
    # act
    first = httpx.get(f"{gateway_url}/api/inventory/products", timeout=5)
    second = httpx.get(f"{gateway_url}/api/inventory/products", timeout=5)

    # assert
    assert first.headers["x-request-id"] != second.headers["x-request-id"]
    assert len(first.headers["x-request-id"]) >= 16


def test_every_log_line_of_every_service_is_a_json_object_with_the_required_fields(
    stack: Stack,
) -> None:
    # arrange: the session has produced logs by now (start-up lines at least)
    for service in (stack.gateway, stack.orders, stack.inventory, stack.notifications):
        # act
        lines = _log_lines(service)

        # assert
        assert lines, f"{service.process.name} logged nothing"
        for line in lines:
            assert line.keys() >= REQUIRED_FIELDS, line
            assert line["version"] == service.env["APP_VERSION"]
