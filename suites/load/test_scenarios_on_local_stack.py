"""The scenarios against the local stack (no cluster): each runs clean and keeps the invariants.

tox -e load -- -m "not cluster"
"""

from __future__ import annotations

import httpx
import pytest

from suites.load.locust_run import Load
from suites.load.verified_run import StockSource, run_verified
from suites.resilience.live import record
from suites.system.stack import LISTING_TOKEN, Stack

pytestmark = pytest.mark.slow

#: Units per product for the scarce-stock run: a few seconds of orders.
SCARCE_STOCK = 5


@pytest.mark.parametrize("scenario", ["browse", "shopper", "mixed"])
def test_scenario_runs_without_failures_and_keeps_the_invariants_on_the_local_stack(
    scenario: str, local_stack: Stack, local_load: Load, capsys: pytest.CaptureFixture[str]
) -> None:
    # arrange: stock read from inventory-service itself (the local gateway caches for 30 s)
    inventory = StockSource(local_stack.inventory.url, "/products")

    # act / assert (run_verified checks the invariants)
    run = run_verified(
        scenario,
        local_stack.gateway.url,
        inventory,
        local_load,
        listing_token=LISTING_TOKEN,
        tag="-local",
    )

    for name, value in run.figures().items():
        record(f"load.local.{scenario}.{name}", value)
    with capsys.disabled():
        print(f"\nload on the local stack: {run}\nreport: {run.result.html}")


def test_shoppers_meeting_empty_shelves_get_rejections_not_failures_and_nothing_is_oversold(
    local_stack: Stack, local_load: Load, capsys: pytest.CaptureFixture[str]
) -> None:
    # arrange: every product down to a few units, far less than the shoppers will order
    inventory = local_stack.inventory.url
    products = httpx.get(f"{inventory}/products", timeout=10).json()
    for product in products:
        scarce = {**product, "stock": SCARCE_STOCK}
        del scarce["sku"]
        httpx.put(
            f"{inventory}/products/{product['sku']}", json=scarce, timeout=10
        ).raise_for_status()

    # act / assert: run_verified checks the invariants; rejections are correct answers
    run = run_verified(
        "shopper", local_stack.gateway.url, StockSource(inventory, "/products"), local_load,
        listing_token=LISTING_TOKEN, tag="-local-scarce",
    )  # fmt: skip
    assert run.by_status().get("rejected", 0) > 0, f"the shelves never ran empty: {run}"
    with capsys.disabled():
        print(f"\nshoppers on scarce stock: {run}")
