"""Losing a PostgreSQL database (order-db, inventory-db): no acknowledged order is lost, requests
during the outage fail promptly with 503 and a JSON body, and orders flow again by themselves.

Two ways to lose it. A killed pod (SIGTERM, SIGKILL a second later) shuts the server down, which
writes everything first; a crash (one server process SIGKILLed, `testbed.faults.crash_postgres`)
throws away what was not yet written, so only the crash can catch a database that acknowledges
a commit before its WAL is written. The crash is repeated as often as its negative control's
measured rate needs to catch such a database with 95 % chance (promises.yaml's `power`).

The negative controls: an acknowledged order deleted behind the system's back is reported lost
by the same check as the kill's; order-db set to acknowledge before writing its WAL
(`synchronous_commit = off`) loses acknowledged orders in a crash, which the crash's check
reports."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from kubepromises.waiting import NotYet, eventually
from suites import promises
from suites.reporting.plugin import Timeline
from suites.resilience import invariants
from suites.resilience.live import record, selector, wait_replaced, wait_rolled_out
from testbed import faults, traffic
from testbed.cluster import Testbed
from testbed.kube import Kube
from testbed.traffic import Outcome, Target, TrafficProbe, order_target

pytestmark = pytest.mark.cluster

DATABASES = ("order-db", "inventory-db")
#: Orders use up stock for good, so the order rate stays low; reads fill in the timeline.
RATE = 10.0
ORDER_SKU = "SKU-CABLE"
RECOVERY_TIMEOUT = 90.0
KILL_GRACE_SECONDS = 1

#: The database the crash test crashes: the one holding the orders.
CRASHED = "order-db"
#: How often the crash is repeated to catch, with the stated chance, a database that acknowledges
#: commits before writing them (promises.yaml, `power`).
POWER = promises.power("database-loss")
#: Orders acknowledged after the previous crash (or the start) before the next crash: orders
#: are being committed when it comes.
ORDERS_BEFORE_A_CRASH = 5
#: The crash's negative control gives up after this many crashes without a lost order.
CONTROL_CRASHES = 6


def acknowledged_id(outcome: Outcome) -> str:
    assert isinstance(outcome.response, dict), outcome
    order_id: str = outcome.response["id"]
    return order_id


def is_clean_failure(outcome: Outcome) -> bool:
    """An HTTP error status with a JSON error body, as opposed to no answer at all."""
    return (
        outcome.status is not None
        and outcome.status >= 400
        and isinstance(outcome.response, dict)
        and "detail" in outcome.response
    )


@pytest.mark.clients_see_failures
@pytest.mark.parametrize("database", DATABASES)
def test_killing_a_database_loses_no_acknowledged_order_and_fails_requests_with_503(
    kube: Kube, gateway_url: str, timeline: Timeline, database: str
) -> None:
    # arrange: the database ready, orders and order reads flowing
    wait_rolled_out(kube, database, kind="StatefulSet")
    reads = Target("orders", "GET", "/api/orders?limit=1", frozenset({200}))
    targets = (order_target(ORDER_SKU), reads)
    (victim,) = [p.metadata.name for p in kube.ready_pods(selector(database))]
    old_uid = kube.pods(selector(database))[0].metadata.uid

    with TrafficProbe(gateway_url, targets, rate=RATE, workers=4) as probe:
        eventually(
            lambda: _an_order_acknowledged_after(probe, 0.0),
            timeout=30,
            what="orders acknowledged before the fault",
            hint="is the system healthy?",
        )

        # act: kill the database pod: SIGTERM, SIGKILL one second later. Not grace 0: that is a
        # force deletion, after which the StatefulSet may start a new postgres on the volume
        # while the old one still answers existing connections (it lost orders that way).
        killed_at = probe.elapsed()
        kube.delete_pod(victim, grace_seconds=KILL_GRACE_SECONDS)

        wait_replaced(kube, database, old_uid, RECOVERY_TIMEOUT)
        ready_at = probe.elapsed()
        eventually(
            lambda: _an_order_acknowledged_after(probe, ready_at),
            timeout=RECOVERY_TIMEOUT,
            what=f"orders acknowledged again after {database} came back",
            hint="the services must reconnect to the database by themselves",
        )
        recovered_at = probe.elapsed()

    # assert: every acknowledged order readable; failures were prompt JSON errors, never hangs
    summary = probe.summary()
    marks = {
        f"{database} killed": killed_at,
        f"{database} Ready": ready_at,
        "orders again": recovered_at,
    }
    timeline.attach(summary, marks)
    orders = [o for o in summary.outcomes if o.target == "order"]
    acknowledged = [acknowledged_id(o) for o in orders if o.status == 201]
    unanswered = [o for o in summary.outcomes if o.status is None]
    unclean = [o for o in summary.failures if o.status is not None and not is_clean_failure(o)]
    not_503 = [o for o in summary.failures if o.status != 503]
    lost = lost_orders(gateway_url, acknowledged)

    figures = (
        f"{database} killed at t={killed_at:.1f}s, Ready at t={ready_at:.1f}s, orders "
        f"acknowledged again at t={recovered_at:.1f}s; {len(acknowledged)} acknowledged, "
        f"{len(lost)} lost, {len(unanswered)} unanswered (indeterminate), "
        f"failures by status: {_by_status(summary.failures)}; {summary}; "
        f"failure details: {_details(summary.failures)}"
    )
    print(f"\n{figures}")
    record(f"database_loss.{database}", figures)
    assert lost == [], f"acknowledged but not readable: {lost}"
    assert unanswered == [], "requests hung until the client gave up:\n" + summary.timeline()
    assert unclean == [], f"failures without a JSON error body: {unclean[:5]}"
    assert not_503 == [], f"failures other than 503: {_by_status(not_503)}"


def lost_orders(gateway_url: str, acknowledged: list[str]) -> list[str]:
    """The acknowledged orders the API no longer knows (404 once it can tell)."""
    with httpx.Client(base_url=gateway_url, timeout=10) as api:
        return [i for i in acknowledged if _definite_status(api, i) != 200]


def test_negative_control_an_acknowledged_order_that_vanished_is_reported_lost(
    testbed: Testbed, kube: Kube, gateway_url: str
) -> None:
    # arrange: an acknowledged order, found by the check (the positive control)
    with httpx.Client(base_url=gateway_url, timeout=10) as api:
        answer = api.post(
            "/api/orders",
            json={
                "customer_email": "negative-control@example.com",
                "items": [{"sku": ORDER_SKU, "quantity": 1}],
            },
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
    assert answer.status_code == 201, answer.text
    order_id = str(answer.json()["id"])
    assert lost_orders(gateway_url, [order_id]) == []

    # act: its row deleted behind the system's back, as a lost commit would leave it
    deleted = invariants.psql(
        testbed,
        kube,
        "order-db",
        "orders",
        f"DELETE FROM orders WHERE id = '{order_id}' RETURNING id",
    )
    assert deleted == [[order_id]], deleted

    # assert: the check above reports it lost
    assert lost_orders(gateway_url, [order_id]) == [order_id]


@pytest.mark.clients_see_failures
def test_crashing_the_order_database_loses_no_acknowledged_order(
    testbed: Testbed, kube: Kube, gateway_url: str, timeline: Timeline
) -> None:
    # arrange: order-db ready, orders flowing
    wait_rolled_out(kube, CRASHED, kind="StatefulSet")
    since = invariants.database_now(testbed, kube)
    mark = len(traffic.ACKNOWLEDGED)

    # act: crash its server as often as the stated power asks, each once orders flow again
    with TrafficProbe(gateway_url, (order_target(ORDER_SKU),), rate=RATE, workers=4) as probe:
        crashes = [crash_under_orders(kube, probe) for _ in range(POWER.repeats)]

    # assert: every order acknowledged with 201 is in order-db with the status it was answered
    # with; requests caught by a crash got an answer (a 503 or a retried success), none hung
    summary = probe.summary()
    timeline.attach(summary, {f"crash {n}": at for n, at in enumerate(crashes, 1)})
    acknowledged = traffic.acknowledged_since(mark)
    lost = invariants.check(testbed, kube, since, acknowledged).lost_acknowledged
    unanswered = [o for o in summary.outcomes if o.status is None]
    not_503 = [o for o in summary.failures if o.status != 503]
    figures = (
        f"{len(crashes)} crashes at t={', '.join(f'{at:.1f}' for at in crashes)} s; "
        f"{len(acknowledged)} acknowledged, {len(lost)} lost; failures by status: "
        f"{_by_status(summary.failures)}; {summary}; failure details: "
        f"{_details(summary.failures)}"
    )
    print(f"\n{figures}")
    record(f"database_crash.{CRASHED}", figures)
    record("power.database-loss", str(POWER))
    assert lost == [], f"acknowledged orders lost or changed by a crash: {lost}"
    assert unanswered == [], "requests hung until the client gave up:\n" + summary.timeline()
    assert not_503 == [], f"failures other than 503: {_by_status(not_503)} {_details(not_503)}"


@pytest.mark.clients_see_failures
def test_negative_control_an_order_database_acknowledging_before_writing_loses_orders_in_a_crash(
    testbed: Testbed, kube: Kube, gateway_url: str
) -> None:
    # arrange: order-db acknowledges commits before their WAL is written
    wait_rolled_out(kube, CRASHED, kind="StatefulSet")
    since = invariants.database_now(testbed, kube)
    mark = len(traffic.ACKNOWLEDGED)
    lost: list[str] = []
    crashes = 0
    try:
        with (
            commits_acknowledged_before_written(testbed, kube),
            TrafficProbe(gateway_url, (order_target(ORDER_SKU),), rate=RATE, workers=4) as probe,
        ):
            # act: crash it, under orders, until the crash's check finds a lost order
            while not lost and crashes < CONTROL_CRASHES:
                crash_under_orders(kube, probe)
                crashes += 1
                acknowledged = traffic.acknowledged_since(mark)
                lost = invariants.check(testbed, kube, since, acknowledged).lost_acknowledged
    finally:
        # what this database lost on purpose is not held against the tests after it
        disowned = traffic.disown(mark)

    # assert: the crash test's check caught the unsafe database
    print(f"\n{crashes} crashes, {len(disowned)} acknowledged: lost {lost}")
    assert lost, (
        f"{crashes} crashes of order-db with synchronous_commit off lost none of "
        f"{len(disowned)} acknowledged orders: the crash's check could not fail"
    )


def crash_under_orders(kube: Kube, probe: TrafficProbe) -> float:
    """Once orders are being acknowledged, crash order-db's server (`faults.crash_postgres`),
    and return when, once an order was acknowledged again after it."""
    ready = [p.metadata.name for p in kube.ready_pods(selector(CRASHED))]
    assert len(ready) == 1, f"one Ready {CRASHED} pod expected, found {ready}"
    before = probe.elapsed()
    eventually(
        lambda: _orders_acknowledged_after(probe, before, ORDERS_BEFORE_A_CRASH),
        timeout=30,
        what=f"{ORDERS_BEFORE_A_CRASH} orders acknowledged before the crash",
        hint="is the system healthy?",
    )
    faults.crash_postgres(kube, ready[0])
    crashed_at = probe.elapsed()  # after the kill: an order sent before it may still commit
    eventually(
        lambda: _an_order_acknowledged_after(probe, crashed_at),
        timeout=RECOVERY_TIMEOUT,
        what=f"orders acknowledged again after {CRASHED} crashed",
        hint="PostgreSQL replays its WAL in about a second; the services must reconnect",
    )
    return crashed_at


@contextmanager
def commits_acknowledged_before_written(testbed: Testbed, kube: Kube) -> Iterator[None]:
    """order-db with `synchronous_commit = off` for the block: a commit is acknowledged before
    its WAL is written, so a crash loses the last ones (PostgreSQL's documented trade-off).
    Reset however the block ends."""

    def setting() -> str:
        ((value,),) = invariants.psql(testbed, kube, CRASHED, "orders", "SHOW synchronous_commit")
        return value

    def configure(statement: str) -> None:
        invariants.psql(testbed, kube, CRASHED, "orders", statement)
        invariants.psql(testbed, kube, CRASHED, "orders", "SELECT pg_reload_conf()")

    configure("ALTER SYSTEM SET synchronous_commit = off")
    try:
        assert setting() == "off", "order-db did not take synchronous_commit = off"
        yield
    finally:
        configure("ALTER SYSTEM RESET synchronous_commit")
    assert setting() == "on", "order-db still has synchronous_commit off"


def _orders_acknowledged_after(probe: TrafficProbe, since: float, count: int) -> None:
    acknowledged = [o for o in probe.snapshot().outcomes if o.status == 201 and o.at > since]
    if len(acknowledged) < count:
        raise NotYet(f"{len(acknowledged)} of {count} orders acknowledged since t={since:.1f}s")


def _an_order_acknowledged_after(probe: TrafficProbe, since: float) -> None:
    if not any(o.status == 201 and o.at > since for o in probe.snapshot().outcomes):
        raise NotYet(f"no order acknowledged since t={since:.1f}s; {probe.snapshot()}")


def _by_status(outcomes: list[Outcome]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for outcome in outcomes:
        key = str(outcome.status) if outcome.status is not None else outcome.error
        counts[key] = counts.get(key, 0) + 1
    return counts


def _details(outcomes: list[Outcome]) -> list[str]:
    """The distinct error details, to tell a database outage from other failures."""
    details = {
        f"{o.status}: {o.response.get('detail')}" for o in outcomes if isinstance(o.response, dict)
    }
    return sorted(details)[:5]


def _definite_status(api: httpx.Client, order_id: str) -> int:
    """200 or 404 for an order; a 5xx means "cannot tell yet" and is asked again."""

    def ask() -> int:
        status = api.get(f"/api/orders/{order_id}").status_code
        if status >= 500:
            raise NotYet(f"GET /api/orders/{order_id} answered {status}")
        return status

    return eventually(
        ask,
        timeout=30,
        interval=0.5,
        what=f"a definite answer for order {order_id}",
        hint="order-service should have reconnected to its database by now",
    )
