"""What the gateway hop costs: latency and throughput through api-gateway vs. direct.

Starts the same local stack as the fast suite (real PostgreSQL, Redis, moto, FerretDB and
the four services as single uvicorn processes), then measures, in one run:

- latency: N sequential requests on one keep-alive connection -> p50 / p99
- throughput: C keep-alive connections in a closed loop for D seconds -> requests/s (and
  p50 / p99 under that load)

for a catalogue read (GET one product) and for placing an order, each directly against the
owning service and through the gateway. Catalogue reads through the gateway are measured with
its Redis cache on (as deployed) and off (the pure hop). The load generator is a minimal
asyncio HTTP/1.1 client so that it costs as little CPU as possible: on a 2-core machine it
shares the cores with everything it measures.

Scenarios that are compared are measured in alternating rounds, and between rounds the run
waits until every order event has been relayed and consumed, so background work from one
scenario does not land on the next.

Run: python -m benchmarks.gateway_hop [--requests 2000] [--connections 16] [--seconds 8]
"""

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from suites.system.stack import (
    Infra,
    new_product,
    queue_is_drained,
    running_infra,
    running_stack,
    unsent_outbox_events,
)
from suites.waiting import eventually


@dataclass(frozen=True)
class Scenario:
    name: str
    route: str  # "direct" or "gateway" (+ variant)
    method: str
    url: str
    body: bytes | None = None


@dataclass(frozen=True)
class Result:
    name: str
    route: str
    p50_ms: float
    p99_ms: float
    rps: float
    loaded_p50_ms: float
    loaded_p99_ms: float
    errors: int


class Connection:
    """One keep-alive HTTP/1.1 connection; just enough protocol for our JSON services."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, url: str) -> "Connection":
        parts = urlsplit(url)
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        return cls(reader, writer)

    async def request(self, scenario: Scenario) -> int:
        parts = urlsplit(scenario.url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        head = f"{scenario.method} {target} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        if scenario.body is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(scenario.body)}\r\n"
        self.writer.write(head.encode() + b"\r\n" + (scenario.body or b""))
        status_line = await self.reader.readline()
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
        await self.reader.readexactly(length)
        return int(status_line.split()[1])

    def close(self) -> None:
        self.writer.close()


def percentile(samples: list[float], q: int) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1] if samples else 0.0


async def sequential(scenario: Scenario, count: int) -> tuple[list[float], int]:
    conn = await Connection.open(scenario.url)
    latencies, errors = [], 0
    try:
        for _ in range(count):
            started = time.perf_counter()
            status = await conn.request(scenario)
            latencies.append((time.perf_counter() - started) * 1000)
            errors += status >= 400
    finally:
        conn.close()
    return latencies, errors


async def closed_loop(
    scenario: Scenario, connections: int, seconds: float
) -> tuple[int, list[float], int]:
    deadline = time.perf_counter() + seconds
    latencies: list[float] = []
    errors = 0

    async def worker() -> None:
        nonlocal errors
        conn = await Connection.open(scenario.url)
        try:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                status = await conn.request(scenario)
                latencies.append((time.perf_counter() - started) * 1000)
                errors += status >= 400
        finally:
            conn.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    return len(latencies), latencies, errors


@dataclass
class Samples:
    latencies: list[float] = field(default_factory=list)
    loaded: list[float] = field(default_factory=list)
    done: int = 0
    seconds: float = 0.0
    errors: int = 0


async def measure_round(scenario: Scenario, samples: Samples, args: argparse.Namespace) -> None:
    latencies, errors = await sequential(scenario, args.requests // args.rounds)
    started = time.perf_counter()
    done, loaded, load_errors = await closed_loop(
        scenario, args.connections, args.seconds / args.rounds
    )
    samples.seconds += time.perf_counter() - started
    samples.latencies += latencies
    samples.loaded += loaded
    samples.done += done
    samples.errors += errors + load_errors


def result(scenario: Scenario, samples: Samples) -> Result:
    return Result(
        name=scenario.name,
        route=scenario.route,
        p50_ms=round(percentile(samples.latencies, 50), 2),
        p99_ms=round(percentile(samples.latencies, 99), 2),
        rps=round(samples.done / samples.seconds, 1),
        loaded_p50_ms=round(percentile(samples.loaded, 50), 2),
        loaded_p99_ms=round(percentile(samples.loaded, 99), 2),
        errors=samples.errors,
    )


def run_group(
    scenarios: list[Scenario], args: argparse.Namespace, settle: Callable[[], None]
) -> list[Result]:
    """Measure scenarios in alternating rounds, so that drifting background load (other
    processes, the notification pipeline catching up) falls on all of them alike."""
    samples = {s: Samples() for s in scenarios}
    for scenario in scenarios:
        asyncio.run(sequential(scenario, 200))  # warm-up: connection pools, caches
    for round_number in range(args.rounds):
        order = scenarios if round_number % 2 == 0 else scenarios[::-1]
        for scenario in order:
            settle()
            asyncio.run(measure_round(scenario, samples[scenario], args))
    return [result(s, samples[s]) for s in scenarios]


def report(results: list[Result]) -> str:
    lines = [
        f"{'scenario':<16} {'route':<18} {'p50 ms':>7} {'p99 ms':>7} {'req/s':>8} "
        f"{'p50@load':>9} {'p99@load':>9} {'errors':>6}"
    ]
    for r in results:
        lines.append(
            f"{r.name:<16} {r.route:<18} {r.p50_ms:>7.2f} {r.p99_ms:>7.2f} {r.rps:>8.1f} "
            f"{r.loaded_p50_ms:>9.2f} {r.loaded_p99_ms:>9.2f} {r.errors:>6}"
        )
    by_key = {(r.name, r.route): r for r in results}
    lines.append("")
    for name, gateway_route in [
        ("catalogue read", "gateway (no cache)"),
        ("catalogue read", "gateway (cache)"),
        ("place order", "gateway"),
    ]:
        direct, via = by_key[(name, "direct")], by_key[(name, gateway_route)]
        lines.append(
            f"{name} via {gateway_route}: hop p50 +{via.p50_ms - direct.p50_ms:.2f} ms, "
            f"throughput {100 * via.rps / direct.rps:.0f}% of direct"
        )
    return "\n".join(lines)


def wait_until_idle(infra: Infra) -> None:
    """Every order event relayed and consumed: no notification work left running."""

    def idle() -> bool:
        unsent = unsent_outbox_events(infra)
        assert unsent == 0, f"{unsent} events not yet relayed"
        assert queue_is_drained(infra), "messages waiting or in flight in the queue"
        return True

    eventually(
        idle,
        timeout=300,
        interval=0.5,
        what="the outbox and the queue to drain between measurements",
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="sequential requests")
    parser.add_argument("--connections", type=int, default=16, help="concurrent connections")
    parser.add_argument("--seconds", type=float, default=8.0, help="closed-loop duration")
    parser.add_argument("--rounds", type=int, default=4, help="alternating rounds per scenario")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="demo-micro-bench-"))
    load_before = os.getloadavg()
    with running_infra(workdir) as infra, running_stack(infra) as stack:
        uncached = stack.start_extra("api_gateway", stack.gateway, {"CACHE_TTL_SECONDS": "0"})
        sku = new_product(stack.inventory.url, 1_000_000_000)
        order = json.dumps(
            {"customer_email": "bench@example.com", "items": [{"sku": sku, "quantity": 1}]}
        ).encode()
        reads = [
            Scenario("catalogue read", "direct", "GET", f"{stack.inventory.url}/products/{sku}"),
            Scenario("catalogue read", "gateway (no cache)", "GET",
                     f"{uncached.url}/api/inventory/products/{sku}"),
            Scenario("catalogue read", "gateway (cache)", "GET",
                     f"{stack.gateway.url}/api/inventory/products/{sku}"),
        ]  # fmt: skip
        orders = [
            Scenario("place order", "direct", "POST", f"{stack.orders.url}/orders", order),
            Scenario("place order", "gateway", "POST", f"{stack.gateway.url}/api/orders", order),
        ]
        settle = lambda: wait_until_idle(infra)  # noqa: E731
        results = run_group(reads, args, settle) + run_group(orders, args, settle)
    print(report(results))
    print(
        f"load average before/after: {load_before[0]:.1f} / {os.getloadavg()[0]:.1f} "
        f"on {os.cpu_count()} CPUs"
    )
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
