"""Promise: catalogue reads are cached briefly, and an order through the gateway is visible
in the next catalogue read (the cache entries it affects are dropped)."""

import httpx

from suites.system.stack import new_product, order_body


def test_a_repeated_catalogue_read_is_served_from_the_cache(
    gateway_url: str, inventory_url: str
) -> None:
    # arrange
    sku = new_product(inventory_url, 7)

    # act
    first = httpx.get(f"{gateway_url}/api/inventory/products/{sku}", timeout=5)
    second = httpx.get(f"{gateway_url}/api/inventory/products/{sku}", timeout=5)

    # assert
    assert (first.headers["x-cache"], second.headers["x-cache"]) == ("miss", "hit")
    assert first.json() == second.json()


def test_the_catalogue_shows_the_new_stock_right_after_an_order(
    gateway_url: str, inventory_url: str
) -> None:
    # arrange: the product's entry is in the cache
    sku = new_product(inventory_url, 7)
    httpx.get(f"{gateway_url}/api/inventory/products/{sku}", timeout=5)
    httpx.get(f"{gateway_url}/api/inventory/products", timeout=5)

    # act
    order = httpx.post(f"{gateway_url}/api/orders", json=order_body((sku, 3)), timeout=10)

    # assert
    assert order.json()["status"] == "confirmed"
    one = httpx.get(f"{gateway_url}/api/inventory/products/{sku}", timeout=5).json()
    listing = httpx.get(f"{gateway_url}/api/inventory/products", timeout=5).json()
    assert one["stock"] == 4
    assert next(p for p in listing if p["sku"] == sku)["stock"] == 4
