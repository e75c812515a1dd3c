"""Losing a PostgreSQL database (order-db, inventory-db): no acknowledged order is lost, requests
during the outage fail promptly with 503 and a JSON body, and orders flow again by themselves.

The negative control deletes an acknowledged order behind the system's back: the same lost-order
check reports it."""

from __future__ import annotations

import uuid

import httpx
import pytest

from suites.reporting.plugin import Timeline
from suites.resilience import invariants
from suites.resilience.live import record, selector, wait_replaced, wait_rolled_out
from testbed.cluster import Testbed
from testbed.kube import Kube
from testbed.traffic import Outcome, Target, TrafficProbe, order_target
from testbed.waiting import NotYet, eventually

pytestmark = pytest.mark.cluster

DATABASES = ("order-db", "inventory-db")
#: Orders use up stock for good, so the order rate stays low; reads fill in the timeline.
RATE = 10.0
ORDER_SKU = "SKU-CABLE"
RECOVERY_TIMEOUT = 90.0
KILL_GRACE_SECONDS = 1


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
