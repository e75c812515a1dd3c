"""One load run with its invariants: stock and orders read before and after through the API, then
judged by the one checker (suites/invariants.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import httpx

from suites.invariants import Findings, assert_hold, judge, wait_one_notification_each
from suites.load.invariants import books, orders_since, stock_levels
from suites.load.locust_run import Load, Result, run_scenario
from system.common.listing_access import bearer


class ScenarioRunner(Protocol):
    """What runs a scenario: `run_scenario` (one local locust process), or locust's distributed
    mode in the cluster (suites/load/distributed.py, `--workers N`)."""

    def __call__(self, scenario: str, host: str, load: Load, *, tag: str = "") -> Result: ...


@dataclass(frozen=True)
class StockSource:
    """Where the true stock levels are read: the gateway's catalogue on the testbed (waiting out
    its cache), inventory-service itself on the local stack."""

    base_url: str
    path: str


@dataclass(frozen=True)
class VerifiedRun:
    result: Result
    orders: list[dict[str, Any]]
    findings: Findings

    def by_status(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for order in self.orders:
            counts[order["status"]] = counts.get(order["status"], 0) + 1
        return counts

    def figures(self) -> dict[str, float]:
        by_status = self.by_status()
        return {
            **self.result.figures(),
            "orders_confirmed": by_status.get("confirmed", 0),
            "orders_rejected": by_status.get("rejected", 0),
        }

    def __str__(self) -> str:
        return f"{self.result}; orders by status {self.by_status()}"


def run_verified(
    scenario: str,
    gateway_url: str,
    stock: StockSource,
    load: Load,
    *,
    listing_token: str,
    tag: str = "",
    runner: ScenarioRunner = run_scenario,
) -> VerifiedRun:
    """Run the scenario, then assert the invariants (raising AssertionError). The orders are
    read back with `listing_token` (LISTING_TOKEN), so that a failure names their customers in
    full: the scenarios' customers carry a name of their own, masked to `s***@example.com`.
    `runner` runs the scenario (a local locust process unless told otherwise)."""
    with httpx.Client(base_url=stock.base_url, timeout=10) as inventory:
        before = stock_levels(inventory, stock.path)
        # Orders carry the database's now() at their transaction start, after this instant.
        started = datetime.now(UTC)
        result = runner(scenario, gateway_url, load, tag=tag)
        with httpx.Client(base_url=gateway_url, timeout=10, headers=bearer(listing_token)) as api:
            orders = orders_since(api, started)
            after = stock_levels(inventory, stock.path)
            findings = judge(books(after, orders), supply_before=before, settled=True)
            run = VerifiedRun(result, orders, findings)
            _assert_invariants(run)
            confirmed = [o["id"] for o in orders if o["status"] == "confirmed"]
            wait_one_notification_each(api, confirmed)
    return run


def _assert_invariants(run: VerifiedRun) -> None:
    result = run.result
    total = result.total
    assert total.failures == 0, f"{result}\nfailures:\n" + "\n".join(result.failures)
    assert total.requests > 0, f"no request was made:\n{result.output}"
    assert result.exit_code == 0, f"locust exited {result.exit_code}:\n{result.output}"
    acknowledged = result.requests_named("POST", "/api/orders")
    earliest = sorted((o["created_at"], o["customer_email"], o["status"]) for o in run.orders)
    assert len(run.orders) == acknowledged, (
        f"{acknowledged} orders acknowledged with 201, {len(run.orders)} created meanwhile; "
        f"the earliest: {earliest[:3]}; the latest: {earliest[-3:]}\n{result.output}"
    )
    assert_hold(run.findings)
