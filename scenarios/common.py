"""What the scenarios share: the default host, the JSON checks, and the thresholds that turn a
run into an exit code."""

from __future__ import annotations

import logging
import random
from typing import Any

from locust import HttpUser, events
from locust.argument_parser import LocustArgumentParser
from locust.clients import ResponseContextManager
from locust.env import Environment

#: The gateway's NodePort on the host's loopback; `--host` overrides it.
DEFAULT_HOST = "http://127.0.0.1:30080"

log = logging.getLogger(__name__)


class Customer(HttpUser):
    """One simulated customer.

    Every locust user comes from this one machine, so to the gateway's rate limit they are all
    one client: it reads X-Forwarded-For from trusted proxies only, and a user of the NodePort
    is none. The manifests' limit is far above what a run sends (docs/load.md).
    """

    abstract = True
    host = DEFAULT_HOST


def json_of(response: ResponseContextManager, status: int) -> Any:
    """The JSON body if the status is `status`, else None with the request marked failed.

    (locust 2.47 leaves ResponseContextManager's failure() and success() unannotated: hence the
    ignores, which mypy --strict needs since every env installs the lock, locust included.)"""
    if response.status_code != status:
        why = f"expected {status}, got {response.status_code}: {response.text[:200]}"
        response.failure(why)  # type: ignore[no-untyped-call]
        return None
    try:
        body = response.json()
    except ValueError:
        response.failure(f"not JSON: {response.text[:200]}")  # type: ignore[no-untyped-call]
        return None
    # An expected 4xx is a correct answer; locust would count it as failed on its own.
    response.success()  # type: ignore[no-untyped-call]
    return body


def product_problem(product: object) -> str | None:
    """What is wrong with a product as the API promises it, or None."""
    if not isinstance(product, dict):
        return f"not an object: {product!r}"
    if not isinstance(product.get("sku"), str) or not isinstance(product.get("name"), str):
        return f"sku and name must be strings: {product}"
    stock, price = product.get("stock"), product.get("price_cents")
    if not isinstance(stock, int) or stock < 0:
        return f"stock must be a whole number >= 0 (oversold?): {product}"
    if not isinstance(price, int) or price < 0:
        return f"price_cents must be a whole number >= 0: {product}"
    return None


def read_catalogue(user: HttpUser) -> list[dict[str, Any]]:
    """GET the catalogue and check every product in it; [] when the request failed."""
    with user.client.get(
        "/api/inventory/products", name="/api/inventory/products", catch_response=True
    ) as response:
        products = json_of(response, 200)
        if products is None:
            return []
        if not isinstance(products, list) or not products:
            response.failure(f"expected a non-empty list of products: {str(products)[:200]}")
            return []
        problems = [p for p in map(product_problem, products) if p]
        if problems:
            response.failure(problems[0])
            return []
        return products


def pick_sku(products: list[dict[str, Any]]) -> str:
    """A SKU, plentiful ones more often (as shoppers buy cables more than monitors)."""
    weights = [max(p["stock"], 1) for p in products]
    sku: str = random.choices(products, weights=weights)[0]["sku"]
    return sku


@events.init_command_line_parser.add_listener
def _threshold_options(parser: LocustArgumentParser) -> None:
    parser.add_argument(
        "--max-fail-ratio",
        type=float,
        default=0.0,
        env_var="LOCUST_MAX_FAIL_RATIO",
        help="exit 1 when more than this fraction of requests failed (default 0: none may)",
    )
    parser.add_argument(
        "--max-p95-ms",
        type=float,
        default=1000.0,
        env_var="LOCUST_MAX_P95_MS",
        help="exit 1 when the 95th percentile response time exceeds this (ms, default 1000)",
    )


@events.quitting.add_listener
def _apply_thresholds(environment: Environment, **_: object) -> None:
    """Set the process exit code from the thresholds, saying which one was crossed."""
    total = environment.stats.total
    options = environment.parsed_options
    if options is None or total.num_requests == 0:
        return
    p95 = total.get_response_time_percentile(0.95)
    crossed = []
    if total.fail_ratio > options.max_fail_ratio:
        crossed.append(f"fail ratio {total.fail_ratio:.4f} > {options.max_fail_ratio}")
    if p95 > options.max_p95_ms:
        crossed.append(f"p95 {p95:.0f} ms > {options.max_p95_ms:.0f} ms")
    if crossed:
        log.error("thresholds crossed: %s", "; ".join(crossed))
        environment.process_exit_code = 1
    else:
        log.info("thresholds held: fail ratio %.4f, p95 %.0f ms", total.fail_ratio, p95)
