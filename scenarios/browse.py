"""Browse: catalogue reads and product pages, the bulk of a shop's traffic.

python -m locust -f scenarios/browse.py --headless -u 10 -r 5 --run-time 30s
"""

from __future__ import annotations

import random
import uuid
from typing import Any

from locust import between, task

from scenarios.common import Customer, json_of, product_problem, read_catalogue


class CatalogueBrowser(Customer):
    """Opens the catalogue, then product pages, now and then a dead link."""

    wait_time = between(0.5, 2.0)

    def on_start(self) -> None:
        super().on_start()
        self.products: list[dict[str, Any]] = []

    @task(2)
    def catalogue(self) -> None:
        self.products = read_catalogue(self) or self.products

    @task(6)
    def product_page(self) -> None:
        if not self.products:
            self.catalogue()
            return
        sku = random.choice(self.products)["sku"]
        with self.client.get(
            f"/api/inventory/products/{sku}",
            name="/api/inventory/products/[sku]",
            catch_response=True,
        ) as response:
            product = json_of(response, 200)
            if product is None:
                return
            problem = product_problem(product)
            if problem is None and product["sku"] != sku:
                problem = f"asked for {sku}, got {product['sku']}"
            if problem:
                response.failure(problem)

    @task(1)
    def unknown_product(self) -> None:
        """A stale link: 404 with a JSON detail is the correct answer."""
        sku = f"SKU-GONE-{uuid.uuid4().hex[:8]}"
        with self.client.get(
            f"/api/inventory/products/{sku}",
            name="/api/inventory/products/[unknown sku]",
            catch_response=True,
        ) as response:
            body = json_of(response, 404)
            if body is not None and "detail" not in body:
                response.failure(f"404 without a detail: {body}")
