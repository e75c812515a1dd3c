"""Promise: a caller without the listing token never sees a customer's full e-mail in what the
API lists (GET /api/orders, /api/orders/{id}, /api/notifications): each is masked
(`a***@example.com`); with `Authorization: Bearer <LISTING_TOKEN>` each is in full; with any
other Authorization header the answer is 401, not a quietly masked listing.

The negative control runs an order-service whose masking is the identity and shows the check
(suites/listing_token.py's `unmasked`) finds its listing's e-mails (system/common/
listing_access.py has the rule)."""

import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import HTTPException

from suites.listing_token import unmasked
from suites.system import servers
from suites.system.stack import (
    LISTING_TOKEN,
    Service,
    Stack,
    new_product,
    notifications_for,
    order_body,
)
from suites.waiting import eventually
from system.common.listing_access import bearer, full_view, mask_email

WITH_TOKEN = bearer(LISTING_TOKEN)
#: Authorization headers that are not the token: each is refused.
WRONG_HEADERS = {
    "another token": "Bearer not-the-listing-token",
    "the token without its scheme": LISTING_TOKEN,
    "the token as Basic": f"Basic {LISTING_TOKEN}",
    "the scheme alone": "Bearer",
}


@dataclass(frozen=True)
class Placed:
    order_id: str
    email: str


@dataclass(frozen=True)
class Read:
    """A read of the public API that shows e-mails, and where its records are in the answer."""

    path: Callable[[Placed], str]
    params: Callable[[Placed], dict[str, Any]]
    records: Callable[[Any], list[dict[str, Any]]]


READS = {
    "GET /api/orders": Read(
        lambda _: "/api/orders", lambda _: {"limit": 100}, lambda body: list(body["items"])
    ),
    "GET /api/orders/{id}": Read(
        lambda placed: f"/api/orders/{placed.order_id}", lambda _: {}, lambda body: [body]
    ),
    "GET /api/notifications": Read(
        lambda _: "/api/notifications",
        lambda placed: {"order_id": placed.order_id},
        lambda body: list(body),
    ),
}


def emails_of(records: list[dict[str, Any]], placed: Placed) -> list[str]:
    """The e-mails the records show for the placed order (there must be one)."""
    found = [
        record["customer_email"]
        for record in records
        if placed.order_id in (record.get("id"), record.get("order_id"))
    ]
    assert found, f"order {placed.order_id} is not in the answer: {records}"
    return found


@pytest.fixture(scope="module")
def placed(gateway_url: str, inventory_url: str) -> Placed:
    """A confirmed order of a customer of its own, with its notification stored."""
    email = f"listing-{uuid.uuid4().hex[:8]}@example.com"
    body = order_body((new_product(inventory_url, 5), 1), email=email)
    response = httpx.post(f"{gateway_url}/api/orders", json=body, timeout=10)
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "confirmed", response.text
    order_id = str(response.json()["id"])
    eventually(
        lambda: notifications_for(gateway_url, order_id),
        timeout=20,
        what=f"the notification of order {order_id}",
    )
    return Placed(order_id, email)


def _read(gateway_url: str, name: str, placed: Placed, headers: dict[str, str]) -> httpx.Response:
    read = READS[name]
    return httpx.get(
        gateway_url + read.path(placed), params=read.params(placed), headers=headers, timeout=10
    )


@pytest.mark.parametrize("name", READS)
def test_a_read_without_the_token_shows_every_e_mail_masked(
    gateway_url: str, placed: Placed, name: str
) -> None:
    # act
    response = _read(gateway_url, name, placed, headers={})

    # assert: our customer's e-mail masked, and nobody's in full
    assert response.status_code == 200, response.text
    records = READS[name].records(response.json())
    assert emails_of(records, placed) == [mask_email(placed.email)]
    assert unmasked(records) == []
    assert placed.email not in response.text


@pytest.mark.parametrize("name", READS)
def test_a_read_with_the_token_shows_the_full_e_mail(
    gateway_url: str, placed: Placed, name: str
) -> None:
    # act
    response = _read(gateway_url, name, placed, headers=WITH_TOKEN)

    # assert
    assert response.status_code == 200, response.text
    assert emails_of(READS[name].records(response.json()), placed) == [placed.email]


@pytest.mark.parametrize("wrong", WRONG_HEADERS)
@pytest.mark.parametrize("name", READS)
def test_a_read_with_a_wrong_token_is_refused_with_401(
    gateway_url: str, placed: Placed, name: str, wrong: str
) -> None:
    # act
    response = _read(gateway_url, name, placed, headers={"Authorization": WRONG_HEADERS[wrong]})

    # assert: refused with the error body and the scheme to use, no e-mail in it
    assert response.status_code == 401, response.text
    assert response.json()["status"] == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "@" not in response.text


@pytest.fixture
def unmasking_order_service(stack: Stack) -> Iterator[Service]:
    """An order-service replica whose masking is the identity (the broken system of the
    control): mask_email is replaced before order-service's routes import it."""
    process, url = servers.service(stack.infra.workdir, "order_service", stack.orders.env)
    process.argv = [
        sys.executable,
        "-c",
        "import runpy, system.common.listing_access as access\n"
        "access.mask_email = lambda email: email\n"
        "runpy.run_module('system.order_service', run_name='__main__')\n",
    ]
    stack.extra.append(process)
    process.start()
    yield Service(process, url, stack.orders.env)
    process.stop()


def test_a_listing_that_does_not_mask_is_caught(
    unmasking_order_service: Service, placed: Placed
) -> None:
    # act: the broken replica's listing, without a token
    response = httpx.get(f"{unmasking_order_service.url}/orders", params={"limit": 100}, timeout=10)

    # assert: the check finds the full e-mail the masked reads are checked for
    assert response.status_code == 200, response.text
    records = response.json()["items"]
    assert emails_of(records, placed) == [placed.email]
    assert f"{placed.order_id} shows {placed.email!r}" in unmasked(records)


def test_an_unset_token_shows_every_e_mail_masked_and_accepts_no_token() -> None:
    # arrange / act / assert: LISTING_TOKEN unset (""): no header masks, any header is refused
    assert full_view(None, "") is False
    for header in ("Bearer ", "Bearer", *WRONG_HEADERS.values()):
        with pytest.raises(HTTPException) as refused:
            full_view(header, "")
        assert refused.value.status_code == 401
