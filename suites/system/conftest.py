"""Session fixtures: real dependency servers and the four services as local processes.

Needs on the machine: PostgreSQL 15 binaries (POSTGRES_BIN, default
/usr/lib/postgresql/15/bin), `redis-server` on PATH, FerretDB v1.24.2 (FERRETDB_BIN or PATH or
the airgap build cache) and the `test` extra (moto[server]). Logs of every process are kept in
the session's temporary directory; a failing test shows their tails.
"""

from collections.abc import Iterator

import pytest

from suites.system import servers
from suites.system.stack import QUEUE_NAME, REDIS_PASSWORD, Infra, Service, Stack

_RUNNING: list[servers.ManagedProcess] = []


@pytest.fixture(scope="session")
def infra(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Infra]:
    workdir = tmp_path_factory.mktemp("servers")
    postgres, postgres_port = servers.postgres(workdir)
    redis, redis_port = servers.redis(workdir, REDIS_PASSWORD)
    sqs, sqs_port = servers.moto(workdir)
    mongo, mongo_port = servers.ferretdb(workdir)
    processes = [postgres, redis, sqs, mongo]
    try:
        # Spawn all, then wait for each: the servers start in parallel.
        for process in processes:
            process.spawn()
            _RUNNING.append(process)
        for process in processes:
            process.wait_ready()
        servers.create_databases(postgres_port, ["inventory", "orders"])
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
        "POSTGRES_USER": "demo",
        "POSTGRES_PASSWORD": "unused-with-trust-auth",
        "SQS_QUEUE_NAME": QUEUE_NAME,
        "AWS_ENDPOINT_URL": infra.sqs_url,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
    }


@pytest.fixture(scope="session")
def stack(infra: Infra) -> Iterator[Stack]:
    common = _common_env(infra)
    inventory_env = {
        **common,
        "INVENTORY_DB_HOST": "127.0.0.1",
        "INVENTORY_DB_PORT": str(infra.postgres_port),
        "INVENTORY_DB_NAME": "inventory",
        "DB_POOL_SIZE": "20",
    }
    inventory, inventory_url = servers.service(infra.workdir, "inventory_service", inventory_env)
    order_env = {
        **common,
        "ORDER_DB_HOST": "127.0.0.1",
        "ORDER_DB_PORT": str(infra.postgres_port),
        "ORDER_DB_NAME": "orders",
        "INVENTORY_SERVICE_URL": inventory_url,
        "DB_POOL_SIZE": "20",
        "OUTBOX_POLL_SECONDS": "0.2",
        "OUTBOX_MAX_BACKOFF_SECONDS": "1",
    }
    orders, orders_url = servers.service(infra.workdir, "order_service", order_env)
    notification_env = {
        **common,
        "MONGODB_HOST": "127.0.0.1",
        "MONGODB_PORT": str(infra.mongo_port),
        "MONGODB_DATABASE": "noti",
        "SQS_WAIT_SECONDS": "1",
        "CONSUMER_MAX_BACKOFF_SECONDS": "1",
    }
    notifications, notifications_url = servers.service(
        infra.workdir, "notification_service", notification_env
    )
    gateway_env = {
        **common,
        "INVENTORY_SERVICE_URL": inventory_url,
        "ORDER_SERVICE_URL": orders_url,
        "NOTIFICATION_SERVICE_URL": notifications_url,
        "REDIS_HOST": "127.0.0.1",
        "REDIS_PORT": str(infra.redis_port),
        "REDIS_PASSWORD": REDIS_PASSWORD,
        "CACHE_TTL_SECONDS": "30",
        # High enough for the load tests; the rate-limit test starts its own gateway.
        "RATE_LIMIT_PER_MINUTE": "1000000",
        "REDIS_COOLDOWN_SECONDS": "1",
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
            _RUNNING.append(process)
        for process in processes:
            process.wait_ready()
        yield running
    finally:
        for process in [*running.extra, *reversed(processes)]:
            process.stop()


@pytest.fixture(scope="session")
def gateway_url(stack: Stack) -> str:
    return stack.gateway.url


@pytest.fixture(scope="session")
def inventory_url(stack: Stack) -> str:
    return stack.inventory.url


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Attach the tails of the server logs to a failing test's report."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.failed and call.when == "call":
        for process in _RUNNING:
            report.sections.append((f"log of {process.name}", process.log_tail(25)))
