"""Promise: bad input through the gateway gets a 4xx JSON error naming the problem, never 5xx."""

import uuid
from collections.abc import Iterator

import httpx
import pytest

from suites.system.stack import new_product, order_body

JSON = {"content-type": "application/json"}

# name: (method, path, raw body, expected status, a word the error must contain)
BAD_REQUESTS: dict[str, tuple[str, str, bytes | None, int, str]] = {
    "malformed json": ("POST", "/api/orders", b'{"customer_email": "a@b.io", "items": [', 422,
                       "json"),
    "body is a list": ("POST", "/api/orders", b"[1, 2]", 422, "body"),
    "quantity of wrong type": (
        "POST", "/api/orders",
        b'{"customer_email": "a@b.io", "items": [{"sku": "SKU-MOUSE", "quantity": "two"}]}',
        422, "quantity",
    ),
    "quantity as a float": (
        "POST", "/api/orders",
        b'{"customer_email": "a@b.io", "items": [{"sku": "SKU-MOUSE", "quantity": 1.5}]}',
        422, "quantity",
    ),
    "zero quantity": (
        "POST", "/api/orders",
        b'{"customer_email": "a@b.io", "items": [{"sku": "SKU-MOUSE", "quantity": 0}]}',
        422, "quantity",
    ),
    "negative quantity": (
        "POST", "/api/orders",
        b'{"customer_email": "a@b.io", "items": [{"sku": "SKU-MOUSE", "quantity": -1}]}',
        422, "quantity",
    ),
    "missing items": ("POST", "/api/orders", b'{"customer_email": "a@b.io"}', 422, "items"),
    "unknown field": (
        "POST", "/api/orders",
        b'{"customer_email": "a@b.io", "items": [{"sku": "SKU-MOUSE", "quantity": 1}], "x": 1}',
        422, "x",
    ),
    "unknown sku": (
        "POST", "/api/orders",
        b'{"customer_email": "a@b.io", "items": [{"sku": "NO-SUCH-SKU", "quantity": 1}]}',
        422, "NO-SUCH-SKU",
    ),
    "NUL in the e-mail": (
        "POST", "/api/orders",
        b'{"customer_email": "a\\u0000@b.io", "items": [{"sku": "SKU-MOUSE", "quantity": 1}]}',
        422, "customer_email",
    ),
    "another control character in the e-mail": (
        "POST", "/api/orders",
        b'{"customer_email": "a\\u0007@b.io", "items": [{"sku": "SKU-MOUSE", "quantity": 1}]}',
        422, "customer_email",
    ),
    "a lone surrogate in the e-mail": (
        "POST", "/api/orders",
        b'{"customer_email": "a\\ud800@b.io", "items": [{"sku": "SKU-MOUSE", "quantity": 1}]}',
        422, "unicode",
    ),
    "11 lines of 1000 of one sku": (
        "POST", "/api/orders",
        b'{"customer_email": "a@b.io", "items": ['
        + b",".join([b'{"sku": "SKU-MOUSE", "quantity": 1000}'] * 11) + b"]}",
        422, "units of one SKU",
    ),
    "50 lines of 1000 of one sku": (
        "POST", "/api/orders",
        b'{"customer_email": "a@b.io", "items": ['
        + b",".join([b'{"sku": "SKU-MOUSE", "quantity": 1000}'] * 50) + b"]}",
        422, "SKU-MOUSE",
    ),
    "oversized body": ("POST", "/api/orders", b'{"pad": "' + b"x" * 200_000 + b'"}', 413, "large"),
    "unknown route": ("GET", "/api/no-such-thing", None, 404, "/api/no-such-thing"),
    "unknown product": ("GET", "/api/inventory/products/NO-SUCH-SKU", None, 404, "NO-SUCH-SKU"),
    "order id not a uuid": ("GET", "/api/orders/not-a-uuid", None, 422, "order_id"),
    "unknown order": ("GET", f"/api/orders/{uuid.UUID(int=1)}", None, 404, "order"),
    "wrong method": ("DELETE", "/api/orders", None, 405, "DELETE"),
    "page size out of range": ("GET", "/api/orders?limit=100000", None, 422, "limit"),
}  # fmt: skip


@pytest.mark.parametrize("case", BAD_REQUESTS)
def test_bad_input_gets_a_4xx_json_error_naming_the_problem(gateway_url: str, case: str) -> None:
    # arrange
    method, path, body, expected_status, named = BAD_REQUESTS[case]

    # act
    response = httpx.request(method, f"{gateway_url}{path}", content=body, headers=JSON, timeout=10)

    # assert
    assert response.status_code == expected_status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()
    assert named.lower() in error["detail"].lower(), error
    assert error["request_id"] == response.headers["x-request-id"]


def test_an_oversized_chunked_body_without_content_length_gets_413(gateway_url: str) -> None:
    # arrange: a streamed body, so the limit cannot rely on Content-Length
    def chunks() -> Iterator[bytes]:
        for _ in range(100):
            yield b"x" * 4096

    # act
    response = httpx.post(
        f"{gateway_url}/api/orders",
        content=chunks(),
        headers=JSON,
        timeout=10,
    )

    # assert
    assert response.status_code == 413
    assert "too large" in response.json()["detail"]


def test_a_well_formed_order_is_not_refused_by_the_checks_above(gateway_url: str) -> None:
    # negative control for the table above: the same endpoint accepts a valid body
    response = httpx.post(
        f"{gateway_url}/api/orders", json=order_body(("SKU-CABLE", 1)), timeout=10
    )
    assert response.status_code == 201, response.text


def test_ten_lines_of_1000_of_one_sku_are_within_the_limit(
    gateway_url: str, inventory_url: str
) -> None:
    # negative control for the per-SKU total: exactly the limit is an order (here: rejected,
    # as there is too little stock), never a 4xx or a 5xx
    sku = new_product(inventory_url, 5)
    response = httpx.post(
        f"{gateway_url}/api/orders", json=order_body(*[(sku, 1000)] * 10), timeout=10
    )
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "rejected", response.json()


def test_unicode_that_is_not_a_control_character_is_accepted(gateway_url: str) -> None:
    # negative control for the control-character rule: letters of any script pass
    response = httpx.post(
        f"{gateway_url}/api/orders",
        json=order_body(("SKU-CABLE", 1), email="zoë.łukasz.名前@example.com"),
        timeout=10,
    )
    assert response.status_code == 201, response.text
