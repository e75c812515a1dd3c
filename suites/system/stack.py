"""The running system under test and small typed helpers to observe it."""

import asyncio
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import httpx
import psycopg

from suites.system import servers
from system.api_gateway.redis_gate import WINDOW_SECONDS

QUEUE_NAME = "order-events"
#: Each service's own role in its database (as manifests/base/secrets.yaml names them).
ORDER_DB_ROLE = "order_service"
INVENTORY_DB_ROLE = "inventory_service"
DATABASE_ROLES = {"orders": ORDER_DB_ROLE, "inventory": INVENTORY_DB_ROLE}
REDIS_PASSWORD = "test-redis-password"
#: LISTING_TOKEN of the services that list (order-service, notification-service): sent as
#: `Authorization: Bearer ...` it shows customers' full e-mails (system/common/listing_access.py).
LISTING_TOKEN = "test-listing-token"


@dataclass
class Infra:
    """The dependency servers: PostgreSQL (two databases), Redis, moto (SQS), FerretDB."""

    workdir: Path
    postgres: servers.ManagedProcess
    postgres_port: int
    redis: servers.ManagedProcess
    redis_port: int
    sqs: servers.ManagedProcess
    sqs_port: int
    mongo: servers.ManagedProcess
    mongo_port: int

    @property
    def sqs_url(self) -> str:
        return f"http://127.0.0.1:{self.sqs_port}"

    def db(self, name: str) -> psycopg.Connection[Any]:
        return psycopg.connect(
            f"host=127.0.0.1 port={self.postgres_port} user=demo dbname={name}", autocommit=True
        )

    def sqs_client(self) -> Any:
        return boto3.client(
            "sqs",
            endpoint_url=self.sqs_url,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )


@dataclass
class Service:
    process: servers.ManagedProcess
    url: str
    env: Mapping[str, str]


@dataclass
class Stack:
    infra: Infra
    inventory: Service
    orders: Service
    notifications: Service
    gateway: Service
    extra: list[servers.ManagedProcess] = field(default_factory=list)

    def start_extra(
        self, package: str, base: Service, overrides: Mapping[str, str] | None = None
    ) -> Service:
        """Another instance of a service (own port), e.g. to SIGTERM it or to change a setting."""
        env = {**base.env, **(overrides or {})}
        process, url = servers.service(self.infra.workdir, package, env)
        self.extra.append(process)
        process.start()
        return Service(process, url, env)


@contextmanager
def running_infra(workdir: Path) -> Iterator[Infra]:
    """PostgreSQL (databases inventory and orders), Redis, moto and FerretDB, started in
    parallel and stopped on exit."""
    postgres, postgres_port = servers.postgres(workdir)
    redis, redis_port = servers.redis(workdir, REDIS_PASSWORD)
    sqs, sqs_port = servers.moto(workdir)
    mongo, mongo_port = servers.ferretdb(workdir)
    processes = [postgres, redis, sqs, mongo]
    try:
        for process in processes:
            process.spawn()
        for process in processes:
            process.wait_ready()
        servers.create_databases(postgres_port, list(DATABASE_ROLES))
        for database, role in DATABASE_ROLES.items():
            servers.create_role(postgres_port, database, role)
        yield Infra(
            workdir, postgres, postgres_port, redis, redis_port, sqs, sqs_port, mongo, mongo_port
        )
    finally:
        for process in reversed(processes):
            process.stop()


def _common_env(infra: Infra) -> dict[str, str]:
    return {
        "APP_VERSION": "9.9.9-test",
        "LOG_LEVEL": "INFO",
        "GRACEFUL_SHUTDOWN_SECONDS": "15",
        "SQS_QUEUE_NAME": QUEUE_NAME,
        "AWS_ENDPOINT_URL": infra.sqs_url,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
    }


@contextmanager
def running_stack(
    infra: Infra,
    gateway_overrides: Mapping[str, str] | None = None,
    order_overrides: Mapping[str, str] | None = None,
    route: Callable[[str, int], int] | None = None,
) -> Iterator[Stack]:
    """The four services as local processes wired to `infra`, stopped on exit.

    `route(link, port)` gives the port a client uses to reach a server's `port` over the link
    named `client->server` (the campaign puts a relay there, `suites/campaign/links.py`); by
    default each client connects to the server itself."""

    def via(link: str, port: int) -> int:
        return route(link, port) if route else port

    def url_via(link: str, url: str) -> str:
        return f"http://127.0.0.1:{via(link, int(url.rsplit(':', 1)[1]))}"

    common = _common_env(infra)
    inventory_env = {
        **common,
        "INVENTORY_DB_HOST": "127.0.0.1",
        "INVENTORY_DB_PORT": str(via("inventory_service->postgresql", infra.postgres_port)),
        "INVENTORY_DB_NAME": "inventory",
        "INVENTORY_DB_USER": INVENTORY_DB_ROLE,
        "DB_POOL_SIZE": "20",
    }
    inventory, inventory_url = servers.service(infra.workdir, "inventory_service", inventory_env)
    notification_env = {
        **common,
        "MONGODB_HOST": "127.0.0.1",
        "MONGODB_PORT": str(via("notification_service->ferretdb", infra.mongo_port)),
        "MONGODB_DATABASE": "noti",
        # As the offline overlay would: credentials, and the one mechanism FerretDB 1.x speaks.
        "MONGODB_USERNAME": "noti",
        "MONGODB_PASSWORD": "test-mongo-password",
        "MONGODB_AUTH_MECHANISM": "PLAIN",
        "LISTING_TOKEN": LISTING_TOKEN,
        "SQS_WAIT_SECONDS": "1",
        "CONSUMER_MAX_BACKOFF_SECONDS": "1",
        "AWS_ENDPOINT_URL": url_via("notification_service->moto", infra.sqs_url),
    }
    notifications, notifications_url = servers.service(
        infra.workdir, "notification_service", notification_env
    )
    order_env = {
        **common,
        "ORDER_DB_HOST": "127.0.0.1",
        "ORDER_DB_PORT": str(via("order_service->postgresql", infra.postgres_port)),
        "ORDER_DB_NAME": "orders",
        "ORDER_DB_USER": ORDER_DB_ROLE,
        "AWS_ENDPOINT_URL": url_via("order_service->moto", infra.sqs_url),
        "LISTING_TOKEN": LISTING_TOKEN,
        "INVENTORY_SERVICE_URL": url_via("order_service->inventory_service", inventory_url),
        "DB_POOL_SIZE": "20",
        "OUTBOX_POLL_SECONDS": "0.2",
        "OUTBOX_MAX_BACKOFF_SECONDS": "1",
        "NOTIFICATION_SERVICE_URL": url_via(
            "order_service->notification_service", notifications_url
        ),
        # Above the consumer's usual delay, so the check rarely resends (harmless if it does).
        "RESEND_UNDELIVERED_AFTER_SECONDS": "5",
        "DELIVERY_CHECK_SECONDS": "1",
        # The relay's claim, ~1 min by default: a claim left by an order-service killed mid-publish
        # (the campaign's nemesis) lapses within the suites' waits. moto answers in milliseconds.
        "OUTBOX_CLAIM_SECONDS": "5",
        **(order_overrides or {}),
    }
    orders, orders_url = servers.service(infra.workdir, "order_service", order_env)
    gateway_env = {
        **common,
        "INVENTORY_SERVICE_URL": url_via("api_gateway->inventory_service", inventory_url),
        "ORDER_SERVICE_URL": url_via("api_gateway->order_service", orders_url),
        "NOTIFICATION_SERVICE_URL": url_via("api_gateway->notification_service", notifications_url),
        "REDIS_HOST": "127.0.0.1",
        "REDIS_PORT": str(via("api_gateway->redis", infra.redis_port)),
        "REDIS_PASSWORD": REDIS_PASSWORD,
        "CACHE_TTL_SECONDS": "30",
        # High enough for the load tests; the rate-limit test starts its own gateway.
        "RATE_LIMIT_PER_MINUTE": "1000000",
        "REDIS_COOLDOWN_SECONDS": "1",
        # The tests stand where the ingress controller would: the X-Forwarded-For they send
        # from 127.0.0.1 names the client (tests of the setting itself start their own gateway).
        "TRUSTED_PROXY_CIDRS": "127.0.0.1/32",
        **(gateway_overrides or {}),
    }
    gateway, gateway_url = servers.service(infra.workdir, "api_gateway", gateway_env)
    processes = [inventory, orders, notifications, gateway]
    running = Stack(
        infra,
        Service(inventory, inventory_url, inventory_env),
        Service(orders, orders_url, order_env),
        Service(notifications, notifications_url, notification_env),
        Service(gateway, gateway_url, gateway_env),
    )
    try:
        for process in processes:
            process.spawn()
        for process in processes:
            process.wait_ready()
        yield running
    finally:
        for process in [*running.extra, *reversed(processes)]:
            process.stop()


def at_least_this_long_in_one_rate_window(seconds: float) -> None:
    """Wait, if need be, for the start of the gateway's next rate-limit window, so that the
    next `seconds` fall inside one window and a test's count is never reset half-way.

    The limiter counts per fixed window of wall-clock time; the gateway runs on this host, so
    it reads the same clock."""
    left = WINDOW_SECONDS - time.time() % WINDOW_SECONDS
    if left < seconds:
        time.sleep(left + 0.05)


def order_body(*items: tuple[str, int], email: str = "ada@example.com") -> dict[str, Any]:
    return {"customer_email": email, "items": [{"sku": s, "quantity": q} for s, q in items]}


def new_product(inventory_url: str, stock: int, price_cents: int = 1000) -> str:
    """A fresh SKU of its own with `stock` units, so tests do not share stock."""
    sku = f"T-{uuid.uuid4().hex[:12]}"
    response = httpx.put(
        f"{inventory_url}/products/{sku}",
        json={"name": f"test product {sku}", "price_cents": price_cents, "stock": stock},
        timeout=5,
    )
    response.raise_for_status()
    return sku


def stock_of(inventory_url: str, sku: str) -> int:
    """Current stock, read from inventory-service itself (not the gateway's cache)."""
    response = httpx.get(f"{inventory_url}/products/{sku}", timeout=5)
    response.raise_for_status()
    stock: int = response.json()["stock"]
    return stock


def order_count(infra: Infra) -> int:
    with infra.db("orders") as conn:
        row = conn.execute("SELECT count(*) FROM orders").fetchone()
        assert row is not None
        return int(row[0])


def notifications_for(gateway_url: str, order_id: str) -> list[dict[str, Any]]:
    response = httpx.get(
        f"{gateway_url}/api/notifications", params={"order_id": order_id}, timeout=5
    )
    response.raise_for_status()
    found: list[dict[str, Any]] = response.json()
    return found


def queue_is_drained(infra: Infra) -> bool:
    """No message waiting or in flight in the order-events queue."""
    sqs = infra.sqs_client()
    url = sqs.get_queue_url(QueueName=QUEUE_NAME)["QueueUrl"]
    attrs = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    drained: bool = attrs == {
        "ApproximateNumberOfMessages": "0",
        "ApproximateNumberOfMessagesNotVisible": "0",
    }
    return drained


def unsent_outbox_events(infra: Infra) -> int:
    with infra.db("orders") as conn:
        row = conn.execute("SELECT count(*) FROM outbox WHERE sent_at IS NULL").fetchone()
        assert row is not None
        return int(row[0])


async def _post_all(
    url: str, bodies: list[dict[str, Any]], headers: list[dict[str, str]] | None
) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=len(bodies), max_keepalive_connections=len(bodies))
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        return await asyncio.gather(
            *(
                client.post(url, json=body, headers=headers[i] if headers else None)
                for i, body in enumerate(bodies)
            )
        )


def post_concurrently(
    url: str, bodies: list[dict[str, Any]], headers: list[dict[str, str]] | None = None
) -> list[httpx.Response]:
    """POST every body at once (one connection each) and return the responses in order."""
    return asyncio.run(_post_all(url, bodies, headers))


#: How many times a client sends an order again after a 503 before it gives up.
RESENDS_AFTER_503 = 3


def post_concurrently_as_clients(
    url: str, bodies: list[dict[str, Any]]
) -> tuple[list[httpx.Response], int]:
    """POST every body at once, each with an Idempotency-Key of its own, and send again, with
    the same key and after the answer's Retry-After, each one answered 503: what a client
    does when the service was too busy to decide within its deadline (on a loaded machine, 200
    orders for one product queue on its row). Returns the final responses in order and how many
    were sent again. An order is decided once whatever the number of sends, so the invariants
    are checked on the final answers."""
    keys = [{"Idempotency-Key": f"clients-{uuid.uuid4().hex}"} for _ in bodies]
    responses = post_concurrently(url, bodies, keys)
    resent = 0
    for _ in range(RESENDS_AFTER_503):
        busy = [i for i, response in enumerate(responses) if response.status_code == 503]
        if not busy:
            break
        resent += len(busy)
        time.sleep(max(float(responses[i].headers.get("Retry-After", 1)) for i in busy))
        again = post_concurrently(url, [bodies[i] for i in busy], [keys[i] for i in busy])
        for i, response in zip(busy, again, strict=True):
            responses[i] = response
    return responses, resent


def connect_as(stack: Stack, role: str, database: str) -> psycopg.Connection[Any]:
    """A session of `role` in `database` on the stack's PostgreSQL, over TCP as the services
    connect (autocommit)."""
    return psycopg.connect(
        f"host=127.0.0.1 port={stack.infra.postgres_port} user={role} dbname={database}",
        autocommit=True,
    )


#: A deadline's answer through the event loop and HTTP, on a busy 2-core machine.
DEADLINE_SLACK_SECONDS = 1.0


@contextmanager
def table_locked(stack: Stack, database: str, table: str) -> Iterator[None]:
    """Every read or write of `table` waits: an administrator's transaction holds it ACCESS
    EXCLUSIVE, as a database that stopped answering would leave it."""
    with stack.infra.db(database) as holder:
        holder.autocommit = False
        holder.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
        try:
            yield
        finally:
            holder.rollback()


def timed(
    method: str, url: str, patience: float, body: Any = None
) -> tuple[httpx.Response | None, float]:
    """The answer to `method` `url` (with the JSON `body`, if any; None: no answer within
    `patience`) and how long it took."""
    started = time.monotonic()
    try:
        answer: httpx.Response | None = httpx.request(method, url, json=body, timeout=patience)
    except httpx.TimeoutException:
        answer = None
    return answer, time.monotonic() - started
