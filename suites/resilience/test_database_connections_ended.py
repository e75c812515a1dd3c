"""A database that ends every connection of the services, as its restart does, fails no request:
neither a read nor an order.

A restarted PostgreSQL ends each session with AdminShutdown; the services' pools must not hand those
dead connections to requests (one order failed so in CI, right after the storage test restarted
order-db). Here the database ends the services' idle sessions by itself (``pg_terminate_backend``,
the same AdminShutdown) while it stays up, so any failed request is a dead connection handed out,
not an outage. The fast suite holds the negative control: a pool without the connection check
hands the dead connections out (``suites/system/test_database_restart_fails_no_request.py``).
"""

from __future__ import annotations

import time

import pytest

from suites.reporting.plugin import Timeline
from suites.resilience import invariants
from suites.resilience.live import record, wait_rolled_out
from testbed.cluster import Testbed
from testbed.kube import Kube
from testbed.traffic import EVERY_BACKEND, TrafficProbe, order_target

pytestmark = pytest.mark.cluster

#: Each database and its name inside the server.
DATABASES = {"order-db": "orders", "inventory-db": "inventory"}
#: The services whose pools hold those connections.
SERVICES = ("order-service", "inventory-service")
#: pg_terminate_backend only signals a backend; it waits this long (ms) for each to be gone.
TERMINATE_WAIT_MS = 5000
RATE = 40.0
ROUNDS = 3
#: Traffic between the rounds, so the pools fill up again before their connections are ended.
BETWEEN_ROUNDS_SECONDS = 3.0
#: Orders write to both databases (a reservation, then the order and its outbox row); one unit
#: each, about a hundred in all (1000 in stock).
ORDER_SKU = "SKU-CABLE"


def end_service_connections(testbed: Testbed, kube: Kube, database: str, dbname: str) -> int:
    """End every idle session of the services (application_name demo-micro) and wait until their
    backends are gone; how many there were. Idle only: a session in the middle of a query is an
    outage for its request, not a dead pooled connection."""
    ((ended,),) = invariants.psql(
        testbed,
        kube,
        database,
        dbname,
        f"SELECT count(pg_terminate_backend(pid, {TERMINATE_WAIT_MS})) FROM pg_stat_activity"
        f" WHERE datname = '{dbname}' AND application_name = 'demo-micro' AND state = 'idle'",
    )
    return int(ended)


def test_ending_every_database_connection_fails_no_request(
    testbed: Testbed, kube: Kube, gateway_url: str, timeline: Timeline
) -> None:
    # arrange: both databases and their services ready
    for database in DATABASES:
        wait_rolled_out(kube, database, kind="StatefulSet")
    for service in SERVICES:
        wait_rolled_out(kube, service)
    marks: dict[str, float] = {}
    ended: dict[str, int] = dict.fromkeys(DATABASES, 0)

    targets = (*EVERY_BACKEND, order_target(ORDER_SKU))
    with TrafficProbe(gateway_url, targets, rate=RATE) as probe:
        # act: every few seconds, each database ends all the services' connections
        for round_ in range(1, ROUNDS + 1):
            time.sleep(BETWEEN_ROUNDS_SECONDS)  # a dwell under traffic, not a wait for a condition
            marks[f"connections ended ({round_})"] = probe.elapsed()
            for database, dbname in DATABASES.items():
                ended[database] += end_service_connections(testbed, kube, database, dbname)
        time.sleep(BETWEEN_ROUNDS_SECONDS)  # the requests that take the dead connections

    # assert: there were connections to end, and no request met one of them
    summary = probe.summary()
    timeline.attach(summary, marks)
    figures = f"{ROUNDS} rounds, connections ended {ended}; traffic: {summary}"
    print(f"\n{figures}")
    record("database_connections_ended.traffic", figures)
    assert all(count >= ROUNDS for count in ended.values()), ended
    assert summary.failures == [], summary.timeline()
