"""A traffic probe: steady requests through the real Service path, every outcome on a timeline.

Usage::

    with TrafficProbe(gateway_url, ROUND_ROBIN_READS, rate=50) as probe:
        ...  # break something
    summary = probe.summary()
    assert summary.failures == [], summary.timeline()

The probe paces requests on a fixed schedule (an open loop: a slow answer does not lower the
offered rate, up to the number of workers), so an outage shows as failed or slow requests rather
than as silently fewer requests.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import TracebackType

import httpx


@dataclass(frozen=True)
class Target:
    """One kind of request the probe sends, and the statuses that count as success."""

    name: str
    method: str
    path: str
    expected: frozenset[int]
    #: Builds a JSON body per request (e.g. an order with a fresh idempotency key).
    body: Callable[[], object] | None = None


@dataclass(frozen=True)
class Outcome:
    """One request: when it started (seconds since the probe started), what came back, how long."""

    at: float
    target: str
    status: int | None  # None: no HTTP answer (connection error, timeout)
    error: str
    latency: float
    ok: bool
    response: object = None


@dataclass
class Summary:
    outcomes: list[Outcome]
    duration: float
    failures: list[Outcome] = field(init=False)

    def __post_init__(self) -> None:
        self.failures = [o for o in self.outcomes if not o.ok]

    @property
    def total(self) -> int:
        return len(self.outcomes)

    @property
    def rps(self) -> float:
        return self.total / self.duration if self.duration > 0 else 0.0

    def latency_percentile(self, fraction: float) -> float:
        latencies = sorted(o.latency for o in self.outcomes)
        if not latencies:
            return 0.0
        return latencies[min(len(latencies) - 1, int(fraction * len(latencies)))]

    def timeline(self, limit: int = 20) -> str:
        """The failures as `t=…s target status/error`, for an assertion message."""
        lines = [
            f"t={f.at:6.2f}s {f.target:<14} {f.status if f.status is not None else f.error}"
            for f in self.failures[:limit]
        ]
        more = len(self.failures) - limit
        if more > 0:
            lines.append(f"... and {more} more")
        return f"{self}\n" + "\n".join(lines)

    def __str__(self) -> str:
        return (
            f"{self.total} requests in {self.duration:.1f} s ({self.rps:.1f} req/s), "
            f"{len(self.failures)} failed, p95 {self.latency_percentile(0.95) * 1000:.0f} ms"
        )


def read(name: str, path: str, *expected: int) -> Target:
    return Target(name, "GET", path, frozenset(expected or (200,)))


#: The notifications of an order no one places: a lookup by key in notification-db on every
#: request. (Not the newest-first listing: the air-gapped stand-in, FerretDB, sorts in Go after
#: reading the whole collection, so that read slows with every order a suite places; on 2 Dec
#: 2026 it took 0.7 s late in the e2e suites and starved the rollouts that probed it.)
NOTIFICATIONS_PATH = "/api/notifications?order_id=00000000-0000-4000-8000-000000000000&limit=1"
NOTIFICATIONS = read("notifications", NOTIFICATIONS_PATH)

#: Reads that reach every backend on every request: an unknown SKU is never cached, so it goes
#: to inventory-service each time (the catalogue itself would be served from Redis).
EVERY_BACKEND: tuple[Target, ...] = (
    read("catalogue", "/api/inventory/products"),
    read("inventory", "/api/inventory/products/SKU-PROBE-UNKNOWN", 404),
    read("orders", "/api/orders?limit=1"),
    NOTIFICATIONS,
)


def order_target(sku: str, email: str = "probe@example.com") -> Target:
    """POST /api/orders of one unit of `sku`, each with its own idempotency key."""

    def body() -> object:
        return {"customer_email": email, "items": [{"sku": sku, "quantity": 1}]}

    return Target("order", "POST", "/api/orders", frozenset({201}), body)


#: Every order any probe was answered 201 for, in order: (order id, status). The after-test
#: invariants check that each one is still in order-db with that status.
ACKNOWLEDGED: list[tuple[str, str]] = []
_ACKNOWLEDGED_LOCK = threading.Lock()


def acknowledged_since(mark: int) -> dict[str, str]:
    """Order id → acknowledged status of the orders acknowledged after `len(ACKNOWLEDGED)` was
    `mark`."""
    with _ACKNOWLEDGED_LOCK:
        return dict(ACKNOWLEDGED[mark:])


def disown(mark: int) -> list[tuple[str, str]]:
    """Take back the orders acknowledged after `len(ACKNOWLEDGED)` was `mark`, and return them:
    for a negative control that made the system break its promise on purpose (the after-test
    invariants must not hold the next tests to what it broke)."""
    with _ACKNOWLEDGED_LOCK:
        taken = ACKNOWLEDGED[mark:]
        del ACKNOWLEDGED[mark:]
    return taken


def acknowledge(outcome: Outcome) -> None:
    """Add an order answered 201 to ACKNOWLEDGED (the probe does it for its own requests; a
    test that sends orders itself calls this, so the invariants check those too)."""
    answer = outcome.response
    if outcome.target == "order" and outcome.status == 201 and isinstance(answer, dict):
        with _ACKNOWLEDGED_LOCK:
            ACKNOWLEDGED.append((str(answer["id"]), str(answer["status"])))


class TrafficProbe:
    """Background workers sending `rate` requests/s, cycling over `targets`."""

    def __init__(
        self,
        base_url: str,
        targets: Sequence[Target],
        *,
        rate: float,
        workers: int = 8,
        timeout: float = 5.0,
        new_connection_each_request: bool = False,
    ) -> None:
        """`new_connection_each_request`: no keep-alive, so every request is balanced afresh by
        the Service (kube-proxy picks a backend per connection): pods that join or leave get
        their share at once instead of whenever a pooled connection happens to break."""
        self.base_url = base_url
        self.targets = tuple(targets)
        self.rate = rate
        self.workers = workers
        self.timeout = timeout
        self.limits = (
            httpx.Limits(max_keepalive_connections=0)
            if new_connection_each_request
            else httpx.Limits()
        )
        self._outcomes: list[Outcome] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._start = 0.0
        self._end = 0.0

    def __enter__(self) -> TrafficProbe:
        self._start = time.monotonic()
        for index in range(self.workers):
            thread = threading.Thread(target=self._run, args=(index,), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=self.timeout + 2)
        self._end = time.monotonic()

    def elapsed(self) -> float:
        """Seconds since the probe started (the timeline's clock)."""
        return time.monotonic() - self._start

    def snapshot(self) -> Summary:
        """The outcomes so far."""
        with self._lock:
            outcomes = list(self._outcomes)
        return Summary(outcomes, self.elapsed())

    def summary(self) -> Summary:
        with self._lock:
            outcomes = sorted(self._outcomes, key=lambda o: o.at)
        return Summary(outcomes, (self._end or time.monotonic()) - self._start)

    def _run(self, index: int) -> None:
        # Worker i owns the requests numbered i, i + workers, ...: a fixed schedule per worker.
        period = self.workers / self.rate
        n = index
        next_at = self._start + index / self.rate
        with httpx.Client(
            base_url=self.base_url, timeout=self.timeout, limits=self.limits
        ) as client:
            while not self._stop.is_set():
                pause = next_at - time.monotonic()
                if pause > 0 and self._stop.wait(pause):
                    break
                self._record(self._send(client, self.targets[n % len(self.targets)]))
                n += self.workers
                next_at += period

    def _send(self, client: httpx.Client, target: Target) -> Outcome:
        started = time.monotonic()
        at = started - self._start
        headers = {"Idempotency-Key": str(uuid.uuid4())} if target.method == "POST" else None
        body = target.body() if target.body else None
        try:
            response = client.request(target.method, target.path, json=body, headers=headers)
        except httpx.HTTPError as error:
            latency = time.monotonic() - started
            return Outcome(at, target.name, None, type(error).__name__, latency, False)
        latency = time.monotonic() - started
        ok = response.status_code in target.expected
        try:
            payload: object = response.json()
        except ValueError:
            payload = response.text[:200]
        return Outcome(at, target.name, response.status_code, "", latency, ok, payload)

    def _record(self, outcome: Outcome) -> None:
        acknowledge(outcome)
        with self._lock:
            self._outcomes.append(outcome)
