"""The listings on the testbed keep customers' e-mails to those with the token: without it each
is masked, with the token of the deployed Secret `listing-token` it is in full, with another
token the answer is 401 (the Secret reaches the services that list). The check `unmasked` has
its negative control in suites/system/test_listings_mask_emails_without_the_token.py."""

from __future__ import annotations

import uuid

import httpx
import pytest

from suites.listing_token import deployed_listing_token, unmasked
from system.common.listing_access import bearer, mask_email
from testbed.kube import Kube

pytestmark = pytest.mark.cluster


def test_a_listing_masks_e_mails_without_the_token_and_shows_them_with_the_deployed_one(
    gateway_url: str, kube: Kube
) -> None:
    with httpx.Client(base_url=gateway_url, timeout=10) as api:
        # arrange: an order of a customer of its own
        products = api.get("/api/inventory/products").raise_for_status().json()
        sku = next(p["sku"] for p in products if p["stock"] > 0)
        email = f"smoke-listing-{uuid.uuid4().hex[:8]}@example.com"
        placed = api.post(
            "/api/orders",
            json={"customer_email": email, "items": [{"sku": sku, "quantity": 1}]},
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
        assert placed.status_code == 201, placed.text
        order_id = placed.json()["id"]

        # act: the order read without a token, with the deployed one and with another
        anonymous = api.get(f"/api/orders/{order_id}")
        listed = api.get("/api/orders", params={"limit": 100})
        with_token = api.get(
            f"/api/orders/{order_id}", headers=bearer(deployed_listing_token(kube))
        )
        wrong = api.get("/api/orders", headers=bearer("not-the-listing-token"))

    # assert
    assert anonymous.status_code == 200, anonymous.text
    assert anonymous.json()["customer_email"] == mask_email(email)
    assert listed.status_code == 200, listed.text
    assert unmasked(listed.json()["items"]) == []
    assert with_token.status_code == 200, with_token.text
    assert with_token.json()["customer_email"] == email
    assert wrong.status_code == 401, wrong.text
