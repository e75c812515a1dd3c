"""Session fixtures: real dependency servers and the four services as local processes.

Needs on the machine: PostgreSQL 15 binaries (POSTGRES_BIN, default
/usr/lib/postgresql/15/bin), `redis-server` on PATH, FerretDB v1.24.2 (FERRETDB_BIN, PATH or
the airgap build cache) and the `test` extra (moto[server]). Each process logs to a file in the
session's temporary directory; a failing test's report ends with the tails of those logs.
"""

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from suites.system import servers
from suites.system.relaying import OrdersDatabase, drop, new_orders_database
from suites.system.servers import ManagedProcess
from suites.system.stack import Infra, Stack, running_infra, running_stack
from suites.waiting import scaled

_started: list[Infra | Stack] = []


@pytest.fixture
def mongodb_not_started(tmp_path: Path) -> Iterator[tuple[ManagedProcess, int]]:
    """A MongoDB-wire server (FerretDB) and its own port, not started yet; stopped at the end."""
    mongo, port = servers.ferretdb(tmp_path)
    try:
        yield mongo, port
    finally:
        mongo.stop()


@pytest.fixture(scope="session")
def infra(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Infra]:
    with running_infra(tmp_path_factory.mktemp("servers")) as servers:
        _started.append(servers)
        yield servers


@pytest.fixture(scope="session")
def stack(infra: Infra) -> Iterator[Stack]:
    with running_stack(infra) as system:
        _started.append(system)
        yield system


@pytest.fixture
def orders_database(infra: Infra) -> Iterator[OrdersDatabase]:
    """A database of its own with order-service's schema, for tests of its store alone (the
    stack's order-service, if running, relays nothing from it)."""
    database = new_orders_database(infra)
    yield database
    drop(database)


@pytest.fixture
def silent_sqs() -> Iterator[str]:
    """An SQS endpoint that accepts connections (the kernel's backlog) and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        listener.close()


@pytest.fixture(scope="session")
def gateway_url(stack: Stack) -> str:
    return stack.gateway.url


@pytest.fixture(scope="session")
def inventory_url(stack: Stack) -> str:
    return stack.inventory.url


# No test may hang the suite: each gets this long (scaled) unless it sets its own timeout.
TEST_TIMEOUT_SECONDS = 180


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        # The hook sees the whole session's items; only this suite's are ours to limit.
        if item.path.is_relative_to(here) and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(scaled(TEST_TIMEOUT_SECONDS)))


def _processes() -> list[ManagedProcess]:
    found: list[ManagedProcess] = []
    for started in _started:
        if isinstance(started, Infra):
            found += [started.postgres, started.redis, started.sqs, started.mongo]
        else:
            found += [s.process for s in (started.inventory, started.orders,
                                          started.notifications, started.gateway)]  # fmt: skip
            found += started.extra
    return found


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Attach the tails of the server logs to a failing test's report."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.failed and call.when == "call":
        for process in _processes():
            report.sections.append((f"log of {process.name}", process.log_tail(25)))
