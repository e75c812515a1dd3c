"""The distributed load's curves on the running testbed (`tox -e load-curves`, not CI):

- `workers`: requests/s reached with 1, 2 and 4 workers at one user count (their ratio says
  whether the harness or the system is the limit);
- `saturation`: for the gateway at 2 and at 4 replicas, users raised step by step, the
  requests/s reached, p95 and failures at each, and the knee: the highest rate with p95 within
  the drawing's `load-p95` SLO and failures within `load-failures`.

After every run the load suite's invariants are checked (suites/load/invariants.py): no SKU
oversold or its stock moved by other than the confirmed units, one notification per confirmed
order. Failed requests are figures here, not errors: past the knee they are what is measured.
The figures go to reports/load-curves/<curve>.json and to the terminal, and the curve is drawn
beside them as <curve>.svg (`plot FILE` draws a saved one again).

Every run starts from the stock the curve found, put back before each run and at the end (a
curve confirms hundreds of orders: without it the shelves empty, later runs only see rejected
orders, which cost less, and the shared testbed is left with nothing to sell).

    python -m suites.load.curves workers --workers 1 2 4 --users 120 --seconds 30
    python -m suites.load.curves saturation --replicas 2 4 --users 40 80 160 --workers 2
    python -m suites.load.curves plot reports/load-curves/saturation.json
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from kubepromises.report import plot
from kubepromises.waiting import NotYet, eventually
from suites import promises
from suites.invariants import assert_hold, judge, wait_one_notification_each
from suites.listing_token import deployed_listing_token
from suites.load.distributed import MAX_WORKERS, runner, workers_option
from suites.load.invariants import books, orders_since, stock_levels
from suites.load.locust_run import Load, Result
from system.common.listing_access import bearer
from testbed.cluster import Testbed
from testbed.kube import AutoscalersSuspended, Kube
from testbed.settings import Settings

REPORTS = promises.REPO_ROOT / "reports" / "load-curves"
SCENARIO = "mixed"
GATEWAY = "api-gateway"
INVENTORY = "inventory-service"
CATALOGUE = "/api/inventory/products"
GATEWAY_URL = f"http://127.0.0.1:{promises.API_NODE_PORT.node_port}"
#: Run in an inventory-service container: PUT each product of the JSON list in argv[1] back
#: (the operators' restock; the gateway does not route it).
RESTOCK = (
    "import json, sys, urllib.request\n"
    "for p in json.loads(sys.argv[1]):\n"
    "    body = json.dumps({k: p[k] for k in ('name', 'price_cents', 'stock')}).encode()\n"
    "    url = f'http://127.0.0.1:{sys.argv[2]}/products/{p[\"sku\"]}'\n"
    "    request = urllib.request.Request(url, data=body, method='PUT',\n"
    "        headers={'content-type': 'application/json'})\n"
    "    urllib.request.urlopen(request, timeout=10).read()\n"
)


def catalogue() -> list[dict[str, Any]]:
    """The products as they are now (an uncached read through the gateway)."""
    with httpx.Client(base_url=GATEWAY_URL, timeout=10) as shop:
        stock = stock_levels(shop, CATALOGUE)
        products: list[dict[str, Any]] = shop.get(CATALOGUE).json()
    return [{**p, "stock": stock[p["sku"]]} for p in products]


def restock(testbed: Testbed, products: list[dict[str, Any]]) -> None:
    """Put `products` (name, price and stock) back through inventory-service."""
    port = next(s.port for s in promises.DRAWING.services if s.name == INVENTORY)
    testbed.kubectl(
        "exec", "-n", promises.DRAWING.namespace, f"deploy/{INVENTORY}", "--",
        "python", "-c", RESTOCK, json.dumps(products), str(port),
        timeout=60,
    )  # fmt: skip


@dataclass(frozen=True)
class Point:
    """One run of a curve: what was asked and what was reached. The gateway's Ready replicas
    before and after the run: where its autoscaler is active, the load may scale it out."""

    workers: int
    replicas_before: int
    replicas_after: int
    users: int
    seconds: int
    requests: int
    rps: float
    p95_ms: float
    failures: int
    orders_confirmed: int
    load_average: str
    at: str


def checked_run(
    run: Callable[[str, str, Load], Result], kube: Kube, load: Load, *, workers: int
) -> Point:
    """One run, then the invariants (AssertionError when one breaks); its figures."""
    token = deployed_listing_token(kube)
    with (
        httpx.Client(base_url=GATEWAY_URL, timeout=10) as shop,
        httpx.Client(base_url=GATEWAY_URL, timeout=10, headers=bearer(token)) as api,
    ):
        before = stock_levels(shop, CATALOGUE)
        replicas_before = kube.workload("Deployment", GATEWAY).ready
        started = datetime.now(UTC)
        result = run(SCENARIO, GATEWAY_URL, load)
        replicas_after = kube.workload("Deployment", GATEWAY).ready
        orders = orders_since(api, started)
        after = stock_levels(shop, CATALOGUE)
        assert_hold(judge(books(after, orders), supply_before=before, settled=True))
        confirmed = [o["id"] for o in orders if o["status"] == "confirmed"]
        wait_one_notification_each(api, confirmed)
    total = result.total
    return Point(
        workers=workers,
        replicas_before=replicas_before,
        replicas_after=replicas_after,
        users=load.users,
        seconds=load.seconds,
        requests=total.requests,
        rps=round(total.rps, 1),
        p95_ms=total.p95_ms,
        failures=total.failures,
        orders_confirmed=len(confirmed),
        load_average=" ".join(f"{x:.2f}" for x in os.getloadavg()),
        at=started.isoformat(timespec="seconds"),
    )


def knee(points: list[Point]) -> Point | None:
    """The highest rate reached with p95 within the drawing's load-p95 SLO and failures within
    its load-failures SLO; None when no point keeps both."""
    p95 = promises.DRAWING.slo("load-p95").at_most
    failures = promises.DRAWING.slo("load-failures").at_most
    kept = [p for p in points if p.p95_ms <= p95 and p.failures <= failures]
    return max(kept, key=lambda p: p.rps, default=None)


def gateway_scaled(kube: Kube, replicas: int) -> None:
    """The gateway at `replicas`, every one Ready (its autoscaler suspended by the caller)."""
    kube.scale("Deployment", GATEWAY, replicas)

    def rolled_out() -> None:
        state = kube.workload("Deployment", GATEWAY)
        if not (state.rolled_out and state.ready == replicas):
            raise NotYet(str(state))

    eventually(rolled_out, timeout=180, interval=2.0, what=f"{GATEWAY} at {replicas} replicas")


def worker_curve(testbed: Testbed, workers: list[int], load: Load) -> dict[str, Any]:
    kube = testbed.kube()
    stocked = catalogue()
    points = []
    try:
        for count in workers:
            restock(testbed, stocked)
            point = checked_run(runner(testbed, count), kube, load, workers=count)
            print(f"{count} worker(s): {point}", flush=True)
            points.append(point)
    finally:
        restock(testbed, stocked)
    base = points[0].rps
    ratios = {p.workers: round(p.rps / base, 2) if base else None for p in points}
    return {"points": [asdict(p) for p in points], "rps_ratio_to_first": ratios}


def saturation_curve(
    testbed: Testbed, replica_counts: list[int], users: list[int], workers: int, seconds: int
) -> dict[str, Any]:
    kube = testbed.kube()
    drawn = next(s.replicas for s in promises.DRAWING.services if s.name == GATEWAY)
    curves: dict[str, Any] = {}
    stocked = catalogue()
    with AutoscalersSuspended(kube):
        try:
            for replicas in replica_counts:
                gateway_scaled(kube, replicas)
                points = []
                for count in users:
                    load = Load(users=count, spawn_rate=float(count), seconds=seconds)
                    run = runner(testbed, workers)
                    restock(testbed, stocked)
                    point = checked_run(run, kube, load, workers=workers)
                    print(f"{replicas} gateway replicas: {point}", flush=True)
                    points.append(point)
                found = knee(points)
                curves[str(replicas)] = {
                    "points": [asdict(p) for p in points],
                    "knee": asdict(found) if found else None,
                }
        finally:
            gateway_scaled(kube, drawn)
            restock(testbed, stocked)
    return curves


def chart(figures: dict[str, Any]) -> str:
    """The curve's figures (as `worker_curve` or `saturation_curve` return them, or as read back
    from their JSON) as an SVG chart: requests/s by workers; or, per gateway replica count,
    p95 against the rate reached, the knee ringed and the drawing's load-p95 SLO dashed. A run
    whose failures broke the load-failures SLO is crossed."""
    if not isinstance(figures, dict):
        raise TypeError(f"expected an object of figures, not {type(figures).__name__}")
    failures = promises.DRAWING.slo("load-failures").at_most

    def flagged(points: list[dict[str, Any]], x: str, y: str) -> tuple[plot.Point, ...]:
        return tuple((p[x], p[y]) for p in points if p["failures"] > failures)

    if "points" in figures:  # the workers curve
        points = figures["points"]
        series = plot.Series(
            "requests/s reached",
            tuple((p["workers"], p["rps"]) for p in points),
            flagged=flagged(points, "workers", "rps"),
        )
        users = sorted({p["users"] for p in points})
        return plot.line_chart(
            f"Requests/s by locust workers ({', '.join(map(str, users))} users)",
            "locust workers",
            "requests/s reached",
            [series],
        )
    p95 = promises.DRAWING.slo("load-p95").at_most
    lines = []
    for replicas, curve in sorted(figures.items(), key=lambda item: int(item[0])):
        points, knee = curve["points"], curve["knee"]
        lines.append(
            plot.Series(
                f"{replicas} gateway replicas",
                tuple((p["rps"], p["p95_ms"]) for p in points),
                marked=(knee["rps"], knee["p95_ms"]) if knee else None,
                flagged=flagged(points, "rps", "p95_ms"),
            )
        )
    return plot.line_chart(
        "Saturation: p95 against the rate reached (ringed: the knee)",
        "requests/s reached",
        "p95 (ms)",
        lines,
        plot.Threshold(f"load-p95 SLO {p95:g} ms", p95),
    )


def positive(text: str) -> int:
    """A whole number above 0, else a clear usage error."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number above 0, not {text!r}")
    return int(text)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m suites.load.curves", description=__doc__)
    curves = top.add_subparsers(dest="curve", required=True)
    workers = curves.add_parser("workers", help="requests/s with 1, 2 and 4 workers")
    workers.add_argument("--workers", type=workers_option, nargs="+", default=[1, 2, MAX_WORKERS])
    workers.add_argument("--users", type=positive, default=120)
    workers.add_argument("--seconds", type=positive, default=30)
    saturation = curves.add_parser("saturation", help="rate vs p95 and failures per replicas")
    saturation.add_argument("--replicas", type=positive, nargs="+", default=[2, 4])
    saturation.add_argument("--users", type=positive, nargs="+", default=[40, 80, 160, 320])
    saturation.add_argument("--workers", type=workers_option, default=2)
    saturation.add_argument("--seconds", type=positive, default=30)
    drawn = curves.add_parser("plot", help="draw a curve's chart again from its JSON")
    drawn.add_argument("figures", type=Path, help="reports/load-curves/<curve>.json")
    drawn.add_argument("--out", type=Path, help="the SVG to write (default: beside the JSON)")
    return top


def plotted(figures_file: Path, out: Path | None = None) -> Path:
    """The chart of a curve's JSON written as SVG (beside it unless `out` says where)."""
    try:
        figures = json.loads(figures_file.read_text())
        drawn = chart(figures)
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise SystemExit(f"{figures_file}: not a curve's figures: {error!r}") from error
    target = out or figures_file.with_suffix(".svg")
    target.write_text(drawn)
    return target


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.curve == "plot":
        print(f"written to {plotted(args.figures, args.out)}")
        return 0
    testbed = Testbed(Settings.from_env())
    testbed.attach()
    if args.curve == "workers":
        load = Load(users=args.users, spawn_rate=float(args.users), seconds=args.seconds)
        figures = worker_curve(testbed, args.workers, load)
    else:
        figures = saturation_curve(testbed, args.replicas, args.users, args.workers, args.seconds)
    REPORTS.mkdir(parents=True, exist_ok=True)
    out = REPORTS / f"{args.curve}.json"
    out.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"{args.curve}: {json.dumps(figures, indent=2)}\nwritten to {out}, {plotted(out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
