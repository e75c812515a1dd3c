"""The scenarios against the local stack (no cluster): each runs clean and keeps the invariants.

tox -e load -- -m "not cluster"
"""

from __future__ import annotations

import pytest

from suites.load.locust_run import Load
from suites.load.verified_run import StockSource, run_verified
from suites.resilience.live import record
from suites.system.stack import Stack

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("scenario", ["browse", "shopper", "mixed"])
def test_scenario_runs_without_failures_and_keeps_the_invariants_on_the_local_stack(
    scenario: str, local_stack: Stack, local_load: Load, capsys: pytest.CaptureFixture[str]
) -> None:
    # arrange: stock read from inventory-service itself (the local gateway caches for 30 s)
    inventory = StockSource(local_stack.inventory.url, "/products")

    # act / assert (run_verified checks the invariants)
    run = run_verified(scenario, local_stack.gateway.url, inventory, local_load, tag="-local")

    for name, value in run.figures().items():
        record(f"load.local.{scenario}.{name}", value)
    with capsys.disabled():
        print(f"\nload on the local stack: {run}\nreport: {run.result.html}")
