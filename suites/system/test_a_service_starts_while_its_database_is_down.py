"""A service whose database is out of reach when it starts stays up and not Ready, and is Ready
once the database answers, without a restart.

Failing start-up instead makes Kubernetes restart the container with a growing back-off (up to
5 min), which then delays the service's return after the database is back: seen on 3 Dec 2026,
when notification-db was stranded on a paused node and its service's replacements crash-looped.
The negative control is each test's first check against the previous start-ups: they served
nothing, not even /healthz, until their database had answered (notification-service exited
after 3 s, order- and inventory-service after 60 s).
"""

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pymongo
import pytest

from suites.system import servers
from suites.system.stack import INVENTORY_DB_ROLE, ORDER_DB_ROLE, Stack
from suites.waiting import eventually

#: A database of its own, so the indexes found at the end were made by this start-up.
DATABASE = "started-without-mongodb"
#: Longer than the start-up's MongoDB wait was (serverSelectionTimeoutMS 3000).
OUTLIVES_SECONDS = 5.0
#: Each PostgreSQL service, the prefix of its database settings, and a table of its schema.
POSTGRES_SERVICES = {
    "order_service": ("ORDER_DB", "outbox", ORDER_DB_ROLE),
    "inventory_service": ("INVENTORY_DB", "products", INVENTORY_DB_ROLE),
}


def test_notification_service_starts_without_mongodb_and_is_ready_once_it_answers(
    stack: Stack, tmp_path: Path, mongodb_not_started: tuple[servers.ManagedProcess, int]
) -> None:
    mongo, port = mongodb_not_started
    env = {**stack.notifications.env, "MONGODB_PORT": str(port), "MONGODB_DATABASE": DATABASE}
    service, url = servers.service(tmp_path, "notification_service", env)

    # arrange / act: the service starts while nothing answers on its MongoDB port
    service.spawn()
    try:
        # assert 1: alive at once, and still alive (not Ready) after start-up's MongoDB wait
        # (servers.ANSWERS_WITHIN_SECONDS is far below what the start-ups of before took
        # without their database: they exited after 3 s, or served nothing for 60 s)
        health = servers.first_answer(
            f"{url}/healthz", "notification-service answering /healthz without MongoDB"
        )
        assert health.status_code == 200, health.text
        time.sleep(OUTLIVES_SECONDS)  # a dwell: start-up would have given up by now
        assert service.proc is not None
        assert service.proc.poll() is None, service.log_tail()
        readiness = httpx.get(f"{url}/readyz")
        assert readiness.status_code == 503, readiness.text
        answer = readiness.json()["checks"]["notification-db"]
        # with what the client knows of its server: why it is unready
        assert f"the client sees: 127.0.0.1:{port} Unknown" in answer, answer
        # ended by the driver's own deadline, not cancelled by /readyz's limit ("timed out after
        # 2.0s" before): a cancelled server selection can leave the driver's lock taken for ever
        # (docs/services.md, "A stuck MongoDB client fails /healthz")
        assert answer.startswith("ServerSelectionTimeoutError"), answer

        # act: MongoDB starts
        mongo.start()

        # assert 2: Ready without a restart, and its start-up's indexes made
        service.wait_ready()
        client: pymongo.MongoClient[dict[str, object]] = pymongo.MongoClient("127.0.0.1", port)
        try:

            def indexes() -> set[str]:
                names = {i["name"] for i in client[DATABASE]["notifications"].list_indexes()}
                if not {"one_notification_per_order", "newest_first"} <= names:
                    raise AssertionError(f"indexes so far: {sorted(names)}")
                return names

            eventually(indexes, timeout=10, what="the notifications collection's indexes")
        finally:
            client.close()
    finally:
        service.stop()


@pytest.fixture
def postgres_not_started(tmp_path: Path) -> Iterator[tuple[servers.ManagedProcess, int]]:
    """A PostgreSQL server and its own port, not started yet; stopped at the end."""
    postgres, port = servers.postgres(tmp_path)
    try:
        yield postgres, port
    finally:
        postgres.stop()


@pytest.mark.parametrize("package", POSTGRES_SERVICES)
def test_a_postgresql_service_starts_without_its_database_and_is_ready_once_it_answers(
    stack: Stack,
    tmp_path: Path,
    package: str,
    postgres_not_started: tuple[servers.ManagedProcess, int],
) -> None:
    postgres, port = postgres_not_started
    prefix, table, role = POSTGRES_SERVICES[package]
    base = stack.orders if package == "order_service" else stack.inventory
    env = {**base.env, f"{prefix}_PORT": str(port), f"{prefix}_NAME": "started-later"}
    service, url = servers.service(tmp_path, package, env)

    # arrange / act: the service starts while nothing answers on its database's port
    service.spawn()
    try:
        # assert 1: alive at once, not Ready, and saying why
        health = servers.first_answer(
            f"{url}/healthz", f"{package} answering /healthz without its database"
        )
        assert health.status_code == 200, health.text
        readiness = httpx.get(f"{url}/readyz")
        assert readiness.status_code == 503, readiness.text
        assert readiness.json()["checks"]["schema"].startswith("SchemaNotApplied: not applied yet")

        # act: the database starts
        postgres.start()
        servers.create_databases(port, ["started-later"])
        servers.create_role(port, "started-later", role)

        # assert 2: Ready without a restart, its schema applied
        service.wait_ready()
        dsn = f"host=127.0.0.1 port={port} user=demo dbname=started-later"
        with psycopg.connect(dsn) as conn:
            assert conn.execute(f"SELECT count(*) FROM {table}").fetchone() is not None
    finally:
        service.stop()
