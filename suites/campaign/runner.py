"""Runs a campaign against a running local stack: the operations and the nemesis together, then
the uncertain orders resolved by their keys, the system left to settle, and the final state read.

Phases (times from the campaign's start):
1. products: the campaign's own SKUs, created through inventory-service, and the gateway's
   OpenAPI document (for the bad requests);
2. operations for `duration` s at up to `rate` per second from `workers` clients, while the
   nemesis injects faults from `fault_start` until `duration - quiet_tail`;
3. every process back, then each order placement that timed out or got a 5xx and has a key
   is POSTed again with it (as a client told "retry with the same key" would);
4. settle: until no order is pending (at most the pending bound), then until every final order
   has its notification and the outbox is empty (while the backlog keeps draining: at most
   `notification_timeout` without progress, `notification_limit()` in all, which grows with the
   run); neither wait fails the campaign, the checker judges whatever state it ends in, and
   how the second ended (`Drain`) tells a backlog still draining from a lost notification;
5. the notifications counted, a dwell, and the final state read (the checker compares the two
   counts, so a late duplicate shows).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import httpx
import psycopg
import pymongo.errors

from suites.system.servers import ManagedProcess
from suites.system.stack import QUEUE_NAME, REDIS_PASSWORD, Infra, Stack, unsent_outbox_events
from suites.waiting import NotYet, eventually
from system.common.request_context import REQUEST_ID_HEADER

from . import generator, nemesis, state
from .checker import key_of, uncertain
from .history import Answer, FaultWindow, History, Operation
from .kubelet import Kubelet, probes_of
from .links import Links
from .schedule import Clock

#: The order-events queue's visibility timeout on the campaign's stack. It is how long a batch
#: notification-service received but could not store (its database down) stays invisible before
#: SQS delivers it again, and while it is invisible the queue is not empty, so order-service's
#: delivery check does not resend either. SQS's default, 30 s, which nothing in the deployment
#: changes, would push that recovery past the local campaign's minute; the campaign scales it
#: down as the local stack scales its other delays (SQS_WAIT_SECONDS, the resend delay).
VISIBILITY_TIMEOUT_SECONDS = 5


def configure_queue(infra: Infra) -> None:
    """The queue as the campaign runs it (created if a fresh moto has none yet)."""
    sqs = infra.sqs_client()
    url = sqs.create_queue(QueueName=QUEUE_NAME)["QueueUrl"]
    sqs.set_queue_attributes(
        QueueUrl=url, Attributes={"VisibilityTimeout": str(VISIBILITY_TIMEOUT_SECONDS)}
    )


def durable_commits(infra: Infra) -> None:
    """A commit is acknowledged only once its WAL is written (synchronous_commit=on, PostgreSQL's
    default and the deployment's). The fast suite's server runs with it off, for speed, and then
    a SIGKILL loses commits already acknowledged: a campaign saw an order answered 201 confirmed,
    its notification sent, and the order gone from order-db after the restart. fsync stays off:
    a process kill leaves written WAL in the page cache. Set per database, which overrides the
    server's command line; the services' sessions, opened later, take it."""
    with infra.db("postgres") as conn:
        for name in ("orders", "inventory"):
            conn.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = on')


@dataclass(frozen=True)
class Settings:
    seed: int
    #: Seconds of operations, and their pace.
    duration: float = 15.0
    rate: float = 40.0
    workers: int = 8
    #: Above the gateway's deadline (`checker.Limits.answer_deadline`), so a request the gateway
    #: holds too long shows as a late answer (or none) rather than as the client giving up.
    client_timeout: float = 20.0
    fault_start: float = 1.5
    #: No fault starts in the last seconds of the operations.
    quiet_tail: float = 3.0
    #: How long an uncertain order's key is retried while it still gets 503/504.
    resolve_timeout: float = 5.0
    #: The order-service's PENDING_BOUND_SECONDS on the campaign's stack: low, so the
    #: reconciler acts within the campaign, and above ORDER_DEADLINE_SECONDS (7 s), so it never
    #: takes an order whose request is still under way.
    pending_bound: float = 8.0
    #: Its RECONCILE_EVERY_SECONDS.
    reconcile_every: float = 1.0
    #: Above RESEND_UNDELIVERED_AFTER_SECONDS of the local stack (5 s): a resend that would
    #: duplicate a notification happens within it.
    notification_dwell: float = 6.0
    #: The notifications are waited for while they make progress: at most this long without
    #: any, and `notification_limit()` in all.
    notification_timeout: float = 15.0
    #: The two parts of `notification_limit()`: seconds for any run, and seconds for each
    #: second of operations.
    notification_base: float = 180.0
    notification_per_second: float = 0.5

    def __post_init__(self) -> None:
        waits = {
            "duration": self.duration,
            "notification_timeout": self.notification_timeout,
            "notification_base": self.notification_base,
            "notification_per_second": self.notification_per_second,
        }
        negative = [f"{name} {value}" for name, value in waits.items() if value < 0]
        if negative:
            raise ValueError(f"campaign settings cannot be negative: {', '.join(negative)}")

    def notification_limit(self) -> float:
        """The most the notifications are waited for after the operations, in all: grows with
        the run, as the backlog it can leave does.

        Why from the run's length: the backlog the settle drains is what the faults on the
        notification path left behind (moto killed loses its queue and order-service resends
        every event once it is empty; a paused consumer, FerretDB or link holds them), and the
        faults come at a steady pace through the operations, so a run twice as long can leave
        twice as much to drain. Seed 953984's 8-minute run on a saturated machine (497 s of
        operations, load average 18-40) left about 1,100 events: ~900 drained at ~5 a second
        for the whole 180 s its fixed limit allowed, and 184 lost ones were resent only after
        it, so it needed some 180 + 184 / 5 = 217 s, ~0.45 s per second of operations. Half a
        second per second, on top of the short run's 180 s, gives that run 428 s, twice what it
        needed; a 30-minute run 1,080 s.

        Why not from the confirmed orders and the drain rate the settle observes: the limit has
        to be known before the run, as the test's timeout, set when the tests are collected,
        must outlast it (`after_operations`); a limit read off the drain could outgrow any
        timeout. A long limit costs nothing where it does not apply: a healthy run settles in
        seconds, and a stuck backlog ends the wait after `notification_timeout` without
        progress; only one that keeps shrinking uses it."""
        return self.notification_base + self.notification_per_second * self.duration

    @property
    def reconciler_slack(self) -> float:
        """How long past the bound an order may still be seen pending: the reconciler's period
        (twice: a pass may begin just before the order is due) and a second for the pass."""
        return 2 * self.reconcile_every + 1

    def after_operations(self) -> float:
        """The most the bounded waits after the operations take: the answers still in flight,
        resolving the uncertain orders, no order pending, the notifications, the dwell. A
        test's timeout must leave room for all of them, or a slow settle ends in the timeout
        with no verdict."""
        return (
            self.client_timeout
            + self.resolve_timeout
            + self.pending_bound
            + self.reconciler_slack
            + self.notification_limit()
            + self.notification_dwell
        )


@dataclass(frozen=True)
class Drain:
    """How the wait for the notifications ended: `settled` (nothing missing), `stalled` (no
    progress for `notification_timeout`: what is missing is lost), or `draining` (the limit
    came while the backlog still went down: what is missing is late, not known to be lost)."""

    ended: Literal["settled", "stalled", "draining"]
    #: Final orders without their notification and events not yet sent, at the last reading
    #: (None: never read).
    missing: int | None = 0
    #: How fast that went down over the last `notification_timeout` of the wait, a second.
    falling_per_second: float = 0.0
    #: The wait's limit, in seconds.
    limit: float = 0.0
    #: What the wait last saw, for the report (None when it settled).
    message: str | None = None


@dataclass
class Campaign:
    settings: Settings
    history: History
    state: state.State
    #: Seconds each phase took, for the figures.
    phases: dict[str, float]
    #: Waits of the settle phase that ended without the awaited state (the checker says why).
    unsettled: list[str]
    #: How the wait for the notifications ended.
    notifications: Drain
    #: The probes the campaign asked as the kubelet would: `<service> <path> <answer>` -> how
    #: many (none where a kubelet asks them).
    probe_answers: dict[str, int] = field(default_factory=dict)


def targets(stack: Stack) -> dict[str, dict[str, ManagedProcess]]:
    """The nemesis' lanes: the services, and the servers they depend on."""
    infra = stack.infra
    return {
        "services": {
            s.process.name: s.process
            for s in (stack.gateway, stack.orders, stack.inventory, stack.notifications)
        },
        "dependencies": {p.name: p for p in (infra.postgres, infra.redis, infra.sqs, infra.mongo)},
    }


def severers_of(infra: Infra) -> dict[str, nemesis.Severer]:
    """The servers that can end their clients' connections (the `sever` fault), by name."""
    return {
        infra.postgres.name: nemesis.Severer(
            "pg_terminate_backend", lambda: nemesis.end_postgres_sessions(infra.postgres_port)
        ),
        infra.redis.name: nemesis.Severer(
            "CLIENT KILL TYPE normal",
            lambda: nemesis.end_redis_clients(infra.redis_port, REDIS_PASSWORD),
        ),
    }


class System(Protocol):
    """What a campaign runs against: the local stack (`LocalSystem`) or the kind testbed
    (`suites/campaign_live`). The operations, the history and the checker are the same."""

    #: Where the clients send their requests.
    gateway_url: str
    #: The services whose readiness and liveness probes the campaign asks itself, as the
    #: kubelet would (name -> base URL); none where a kubelet does (`kubelet.py`).
    probed: dict[str, str]

    def add_products(self, products: list[generator.Product]) -> None:
        """The campaign's own SKUs, with their initial stock, through inventory-service."""

    def prepare(self) -> None:
        """Whatever the system needs before the operations (the local queue's settings)."""

    def lanes(self) -> dict[str, list[str]]:
        """The nemesis' lanes and the targets of each."""

    def kinds(self) -> dict[str, tuple[str, ...]]:
        """The faults a target takes, where it is not `nemesis.PROCESS_KINDS`."""

    def inject(self, fault: nemesis.PlannedFault, clock: Clock) -> FaultWindow:
        """Carry out one fault and return its window."""

    def recover(self, history: History) -> None:
        """After the faults: every target up again (what could not be, in the history)."""

    def orders(self) -> dict[str, state.OrderRow]:
        """The campaign's orders, read from order-db."""

    def not_notified(self) -> int:
        """Final orders without their notification, plus events not yet sent."""

    def notification_counts(self) -> dict[str, int]:
        """Order id -> its notifications, for the campaign's orders."""

    def read_state(self, initial_stock: dict[str, int], first_count: dict[str, int]) -> state.State:
        """The final state the checker judges."""


class LocalSystem:
    """The campaign's own local stack: real servers and services as processes of this machine,
    every link between them through the relay (`links`)."""

    def __init__(self, stack: Stack, links: Links | None = None) -> None:
        self.stack = stack
        self.links = links
        self.gateway_url = stack.gateway.url
        self.probed = {
            "api-gateway": stack.gateway.url,
            "order-service": stack.orders.url,
            "inventory-service": stack.inventory.url,
            "notification-service": stack.notifications.url,
        }
        infra = stack.infra
        self._processes = {
            name: process for lane in targets(stack).values() for name, process in lane.items()
        }
        self._severers = severers_of(infra)
        self._after_start = {infra.sqs.name: self.prepare}

    def add_products(self, products: list[generator.Product]) -> None:
        with httpx.Client(base_url=self.stack.inventory.url, timeout=10) as inventory:
            for product in products:
                response = inventory.put(f"/products/{product.sku}", json=product_body(product))
                response.raise_for_status()

    def prepare(self) -> None:
        configure_queue(self.stack.infra)

    def lanes(self) -> dict[str, list[str]]:
        planned = {lane: list(processes) for lane, processes in targets(self.stack).items()}
        if self.links:
            planned["links"] = list(self.links.ports)
        return planned

    def kinds(self) -> dict[str, tuple[str, ...]]:
        kinds: dict[str, tuple[str, ...]] = dict.fromkeys(self._severers, nemesis.SEVERABLE_KINDS)
        if self.links:
            kinds.update(dict.fromkeys(self.links.ports, nemesis.LINK_KINDS))
        return kinds

    def inject(self, fault: nemesis.PlannedFault, clock: Clock) -> FaultWindow:
        if self.links and fault.target in self.links.ports:
            return nemesis.inject_link(
                self.links, fault.target, fault.kind, clock, fault.down, fault.delay
            )
        return nemesis.inject(
            self._processes[fault.target], fault.kind, clock, fault.down,
            self._after_start.get(fault.target), self._severers.get(fault.target),
        )  # fmt: skip

    def recover(self, history: History) -> None:
        nemesis.resume_all()
        _restart_any_down(self._processes, history)

    def orders(self) -> dict[str, state.OrderRow]:
        return state.read_orders(self.stack.infra)

    def not_notified(self) -> int:
        infra = self.stack.infra
        orders, counts = state.read_orders(infra), state.notification_counts(infra)
        final = [o.id for o in orders.values() if o.status != "pending"]
        return unsent_outbox_events(infra) + sum(not counts.get(i) for i in final)

    def notification_counts(self) -> dict[str, int]:
        return state.notification_counts(self.stack.infra)

    def read_state(self, initial_stock: dict[str, int], first_count: dict[str, int]) -> state.State:
        return state.read_state(self.stack.infra, initial_stock, first_count, self.gateway_url)


def product_body(product: generator.Product) -> dict[str, Any]:
    """inventory-service's PUT /products/{sku} body for a campaign product."""
    return {
        "name": f"campaign product {product.sku}",
        "price_cents": 100,
        "stock": product.stock,
    }


def _answer(response: httpx.Response) -> Answer:
    try:
        body, is_json = response.json(), True
    except ValueError:
        body, is_json = response.text, False
    return Answer(
        response.status_code, body, is_json, {k.lower(): v for k, v in response.headers.items()}
    )


def _request(op: Operation) -> dict[str, Any]:
    json_body = {"content-type": "application/json"} if op.body is not None else {}
    # json.dumps' ensure_ascii: control characters (NUL) travel as JSON escapes, as any
    # client sends them.
    content = None if op.body is None else json.dumps(op.body).encode()
    return {
        "method": op.method,
        "url": op.path,
        "content": content,
        "headers": {REQUEST_ID_HEADER: op.request_id, **op.headers, **json_body},
    }


def _record(
    op: Operation, clock: Clock, result: httpx.Response | httpx.TransportError
) -> Operation:
    op.completed = clock.now()
    if isinstance(result, httpx.Response):
        op.answer = _answer(result)
        op.outcome = "ok" if result.status_code < 500 else "failed"
    else:
        # Connection refused: never reached the gateway, nothing can have happened. Anything
        # else (a timeout, a dropped connection): sent, and it may or may not have happened.
        not_sent = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
        op.outcome = "failed" if isinstance(result, not_sent) else "unknown"
        op.error = f"{type(result).__name__}: {result}"
    return op


async def send(
    client: httpx.AsyncClient, history: History, clock: Clock, **fields: Any
) -> Operation:
    """One request, recorded from invocation to outcome."""
    op = history.begin(invoked=clock.now(), **fields)
    try:
        result: httpx.Response | httpx.TransportError = await client.request(**_request(op))
    except httpx.TransportError as exc:
        result = exc
    return _record(op, clock, result)


def send_blocking(client: httpx.Client, history: History, clock: Clock, **fields: Any) -> Operation:
    """The same from a thread."""
    op = history.begin(invoked=clock.now(), **fields)
    try:
        result: httpx.Response | httpx.TransportError = client.request(**_request(op))
    except httpx.TransportError as exc:
        result = exc
    return _record(op, clock, result)


class Operations:
    """The clients: `workers` loops taking the generator's next step at the paced moment."""

    def __init__(
        self, settings: Settings, history: History, clock: Clock, gateway: str, start: float
    ) -> None:
        self._settings = settings
        self._start = start
        self._history = history
        self._clock = clock
        self._gateway = gateway
        self._generator = generator.Generator(
            settings.seed, generator.products(settings.seed), history.openapi
        )
        self._slot = 0
        self._groups = 0
        #: Idempotency-Key -> the order id it was acknowledged with.
        self.ids_by_key: dict[str, str] = {}

    async def run(self, until: float) -> None:
        limits = httpx.Limits(max_connections=self._settings.workers * 6)
        timeout = httpx.Timeout(self._settings.client_timeout)
        async with httpx.AsyncClient(base_url=self._gateway, timeout=timeout, limits=limits) as c:
            await asyncio.gather(*(self._worker(c, until) for _ in range(self._settings.workers)))

    async def _worker(self, client: httpx.AsyncClient, until: float) -> None:
        while True:
            moment = self._start + self._slot / self._settings.rate
            if moment >= until:
                return
            self._slot += 1
            step = self._generator.next()
            await self._clock.reach(moment)
            await self._do(client, step)

    async def _do(self, client: httpx.AsyncClient, step: generator.Step) -> None:
        fields: dict[str, Any] = {
            "kind": step.kind,
            "expect": step.expect,
            "method": step.method,
            "path": step.path,
            "headers": step.headers,
            "body": step.body,
            "key": step.key,
            "tag": step.tag,
            "skus": step.skus,
            "shape": step.shape,
        }
        if step.kind == "get_order":
            known = self.ids_by_key.get(step.read_key or "")
            fields["path"] = f"/api/orders/{known or step.fallback_id}"
        if step.params:
            fields["path"] = (
                f"{step.path}?limit={step.params['limit']}&offset={step.params['offset']}"
            )
        if step.copies > 1:
            self._groups += 1
            fields["group"] = self._groups
        ops = await asyncio.gather(
            *(send(client, self._history, self._clock, **fields) for _ in range(step.copies))
        )
        for op in ops:
            if op.key and op.order_id:
                self.ids_by_key.setdefault(op.key, op.order_id)


def _resolve_keys(history: History) -> list[Operation]:
    """The placements to settle by their key: timed out, or answered 5xx (the first of each
    key and body)."""
    chosen: dict[tuple[str, str], Operation] = {}
    for op in history.placements:
        key = key_of(op)
        if uncertain(op) and key:
            chosen.setdefault((key, json.dumps(op.body, sort_keys=True)), op)
    return list(chosen.values())


def resolve(gateway: str, history: History, clock: Clock, timeout: float) -> None:
    """POST each uncertain placement again with its key until it gets an answer other than
    503/504 (or `timeout` passes; the checker then reports it unresolved)."""
    uncertain_ops = _resolve_keys(history)
    workers = max(1, min(32, len(uncertain_ops)))
    limits = httpx.Limits(max_connections=workers)

    def settle(client: httpx.Client, original: Operation) -> None:
        key = key_of(original)
        assert key is not None, "only operations with a key are resolved"

        def answered() -> bool:
            op = send_blocking(
                client, history, clock, kind="resolve", expect="resolve", method="POST",
                path="/api/orders", headers={"Idempotency-Key": key}, body=original.body,
                key=key, tag=original.tag, skus=original.skus, resolves=original.index,
                shape=original.shape,
            )  # fmt: skip
            return op.answer is not None and op.answer.status not in (503, 504)

        # A key still answered 503/504 at the end is in the history, and the checker reports it.
        with contextlib.suppress(AssertionError):
            eventually(
                answered, timeout=timeout, interval=0.5,
                what=f"an answer for key {key} other than 503/504",
            )  # fmt: skip

    # A thread per key (up to 32): a key that keeps getting 503 must not hold up the others.
    with (
        httpx.Client(base_url=gateway, timeout=5, limits=limits) as client,
        ThreadPoolExecutor(max_workers=workers) as pool,
    ):
        list(pool.map(lambda op: settle(client, op), uncertain_ops))


def _settle(check: Callable[[], bool], timeout: float, what: str) -> str | None:
    """Wait up to `timeout` for `check`; None when it held, else what was last seen."""

    def holds() -> bool:
        try:
            reached = check()
        except (psycopg.Error, pymongo.errors.PyMongoError, httpx.HTTPError) as exc:
            raise NotYet(f"{type(exc).__name__}: {exc}") from exc
        if not reached:
            raise NotYet("not yet")
        return reached

    try:
        eventually(holds, timeout=timeout, interval=0.25, what=what)
    except AssertionError as exc:
        return str(exc).splitlines()[0]
    return None


class _Stalled(Exception):
    """A backlog that stopped draining: not waited for any longer."""


def _falling_per_second(readings: list[tuple[float, int]], window: float) -> float:
    """How fast the readings (time, missing) went down over their last `window` seconds."""
    if not readings:
        return 0.0
    last_at, last = readings[-1]
    first_at, first = next((t, n) for t, n in readings if t >= last_at - window)
    return (first - last) / (last_at - first_at) if last_at > first_at else 0.0


def _settle_while_progressing(
    missing: Callable[[], int], stall: float, limit: float, what: str
) -> Drain:
    """Wait until `missing()` is 0, as long as it keeps going down: up to `stall` seconds
    without progress, `limit` in all. A backlog that drains is waited for (a long campaign's
    faults can leave hundreds of events behind); one that is stuck is not. Says how it ended:
    settled, stalled, or still draining at the limit (progress within the last `stall` s)."""
    lowest: list[int] = []
    readings: list[tuple[float, int]] = []
    progressed = [time.monotonic()]

    def drained() -> bool:
        try:
            now = missing()
        except (psycopg.Error, pymongo.errors.PyMongoError, httpx.HTTPError) as exc:
            raise NotYet(f"{type(exc).__name__}: {exc}") from exc
        readings.append((time.monotonic(), now))
        if now == 0:
            return True
        if not lowest or now < lowest[0]:
            lowest[:] = [now]
            progressed[0] = time.monotonic()
        elif time.monotonic() - progressed[0] > stall:
            raise _Stalled(f"no progress for {stall:.0f} s: {now} still missing")
        raise NotYet(f"{now} still missing")

    try:
        eventually(drained, timeout=limit, interval=0.25, what=what)
    except (AssertionError, _Stalled) as exc:
        last = readings[-1][1] if readings else None
        moving = bool(readings) and time.monotonic() - progressed[0] <= stall
        ended: Literal["stalled", "draining"] = (
            "draining" if moving and not isinstance(exc, _Stalled) else "stalled"
        )
        rate = _falling_per_second(readings, stall)
        message = f"{what}: {str(exc).splitlines()[0]}"
        return Drain(ended, last, rate, limit, message)
    return Drain("settled", 0, _falling_per_second(readings, stall), limit)


def run(system: System, settings: Settings) -> Campaign:
    clock = Clock()
    history = History(settings.seed)
    phases: dict[str, float] = {}

    # 1. the campaign's own products, so the stock accounting is exact
    products = generator.products(settings.seed)
    system.add_products(products)
    history.initial_stock.update({product.sku: product.stock for product in products})
    system.prepare()
    # The bad requests are derived from the document the running gateway serves.
    history.openapi = httpx.get(f"{system.gateway_url}/openapi.json", timeout=10).json()
    phases["products"] = clock.now()

    # 2. operations and faults
    last_start = clock.now() + settings.duration - settings.quiet_tail
    planned = nemesis.plan(
        settings.seed,
        system.lanes(),
        start=clock.now() + settings.fault_start,
        end=last_start,
        kinds=system.kinds(),
    )
    faults = nemesis.Nemesis(
        planned, lambda fault: system.inject(fault, clock), history, clock, last_start
    )
    started = clock.now()
    operations = Operations(settings, history, clock, system.gateway_url, started)
    kubelet = Kubelet(system.probed, [p for name in system.probed for p in probes_of(name)])
    faults.start()
    kubelet.start()
    try:
        asyncio.run(operations.run(started + settings.duration))
    finally:
        faults.join()
        probe_answers = kubelet.stop()
        system.recover(history)
    history.nemesis_errors.extend(faults.errors)
    phases["operations"] = clock.now() - started

    # 3. uncertain orders resolved by their keys
    mark = clock.now()
    resolve(system.gateway_url, history, clock, settings.resolve_timeout)
    phases["resolve"] = clock.now() - mark

    # 4. settle
    mark = clock.now()
    pending = _settle(
        lambda: not any(o.status == "pending" for o in system.orders().values()),
        settings.pending_bound + settings.reconciler_slack,
        "no order pending (the reconciler finishes or rejects them)",
    )
    notifications = _settle_while_progressing(
        system.not_notified,
        settings.notification_timeout,
        settings.notification_limit(),
        "every final order notified and the outbox empty",
    )
    unsettled = [message for message in (pending, notifications.message) if message]
    phases["settle"] = clock.now() - mark

    # 5. count, dwell, count again with the final state
    mark = clock.now()
    first_count = system.notification_counts()
    clock.hold_until(clock.now() + settings.notification_dwell)
    final = system.read_state(history.initial_stock, first_count)
    phases["dwell and read"] = clock.now() - mark
    phases["total"] = clock.now()
    return Campaign(settings, history, final, phases, unsettled, notifications, probe_answers)


def _restart_any_down(processes: dict[str, ManagedProcess], history: History) -> None:
    """A process a failed fault left down is started once more, so the state can be read."""
    for name, process in processes.items():
        if process.proc is None or process.proc.poll() is not None:
            try:
                process.start()
            except Exception as exc:
                history.nemesis_errors.append(f"{name} could not be started again: {exc}")
