"""A full disk under order-db: orders are refused with a prompt 503 and a JSON body (never a 500,
never an order half-written and left so), order reads and everything else keep being served,
and once space is freed orders are accepted again, with no restart and no repair by hand.

order-db's volume is moved onto a filesystem of its own (`testbed.faults.on_small_filesystem`:
the testbed's volumes are directories on the host's disk, which no test may fill), and while
orders flow its last free byte is taken, for HOLD_SECONDS from the first order it refuses; then
the space is freed.

The full disk meets the tables, not the write-ahead log: PostgreSQL's WAL segments are written
in place, 16 MiB each, and the test starts a fresh one first, so the few hundred kilobytes of
WAL its orders write fit in it. A WAL segment that cannot be created is a PANIC by design (the
server stops), which is the database loss of test_database_loss.py, not this fault.

A full disk does not refuse every order: PostgreSQL reuses the room that aborted statements
leave in pages it has (seen live: a few orders acknowledged among the refusals). So "accepted
again" is a stretch of FLOWING_SECONDS in which every order is acknowledged. The negative
control, inside the fault where it costs nothing: while the disk is still full, that recovery
check is run and must fail, so it means the space came back, not that the check cannot fail.
"""

from __future__ import annotations

import time

import pytest

from kubepromises.waiting import NotYet, eventually
from suites import promises
from suites.reporting.plugin import Timeline
from suites.resilience import invariants
from suites.resilience.answers import (
    between,
    by_status,
    failures_among,
    order_acknowledged_after,
    restart_counts,
    slow,
    unclean,
)
from suites.resilience.live import record, wait_rolled_out
from testbed import faults
from testbed.cluster import Testbed
from testbed.kube import Kube
from testbed.traffic import (
    NOTIFICATIONS,
    Outcome,
    Target,
    TrafficProbe,
    order_target,
    read,
)

pytestmark = pytest.mark.cluster

SERVICE = "order-service"
DATABASE = "order-db"
#: The drawing's order-db-pvc, as the StatefulSet's claim template names it for its one pod.
CLAIM = f"data-{DATABASE}-0"
#: How long the disk stays full after the first order it refuses.
HOLD_SECONDS = 12.0
#: Orders use up stock for good, so the rate stays low; reads fill in the timeline.
RATE = 12.0
ORDER_SKU = "SKU-CABLE"
EMAIL = "full-disk@example.com"
CLIENT_TIMEOUT = 15.0
#: The first order refused on the full disk, within this (PostgreSQL first reuses room in the
#: pages it has; a new index page is needed every few dozen orders).
REFUSAL_TIMEOUT = 60.0

ANSWER_BOUND = promises.DRAWING.slo("full-disk-answer").at_most
RECOVERY_BOUND = promises.DRAWING.slo("full-disk-recovery").at_most

ORDERS = order_target(ORDER_SKU, EMAIL)
ORDER_READS = read("orders", "/api/orders?limit=1")
#: Everything but placing an order: none of it needs new space in order-db.
SERVED: tuple[Target, ...] = (
    ORDER_READS,
    read("catalogue", "/api/inventory/products"),
    NOTIFICATIONS,
)
TARGETS = (ORDERS, *SERVED)


#: Orders are taken again: every order sent in a stretch this long was acknowledged.
FLOWING_SECONDS = 3.0
#: ... and at least this many were sent in it.
FLOWING_ORDERS = 3


def orders_flowing_from(outcomes: list[Outcome], since: float, now: float) -> float:
    """The time the first order of the first FLOWING_SECONDS stretch after `since` was
    acknowledged, in which every order sent (at least FLOWING_ORDERS) was acknowledged."""
    orders = sorted((o for o in outcomes if o.target == "order" and o.at > since), key=by_sent)
    for first, start in enumerate(orders):
        if start.at + FLOWING_SECONDS > now:
            break
        stretch = [o for o in orders[first:] if o.at <= start.at + FLOWING_SECONDS]
        if len(stretch) >= FLOWING_ORDERS and all(o.status == 201 for o in stretch):
            return start.at + start.latency
    raise NotYet(f"no {FLOWING_SECONDS:g}-s stretch of acknowledged orders since t={since:.1f}s")


def by_sent(outcome: Outcome) -> float:
    return outcome.at


def orders_flowing_after(probe: TrafficProbe, since: float) -> float:
    return orders_flowing_from(probe.snapshot().outcomes, since, probe.elapsed())


def order_refused_after(probe: TrafficProbe, since: float) -> float:
    """The probe's time at which an order sent after `since` was refused."""
    refused = [o.at for o in probe.snapshot().outcomes if o.target == "order" and not o.ok]
    refused = [at for at in refused if at > since]
    if not refused:
        raise NotYet(f"no order refused since t={since:.1f}s; {probe.snapshot()}")
    return min(refused)


def fresh_wal_segment(testbed: Testbed, kube: Kube) -> None:
    """order-db writes its WAL into a new 16-MiB segment from here (and the old one is
    recycled by the checkpoint)."""
    invariants.psql(testbed, kube, DATABASE, "postgres", "SELECT pg_switch_wal(); CHECKPOINT;")


def pending_orders(testbed: Testbed, kube: Kube) -> int:
    ((count,),) = invariants.psql(
        testbed,
        kube,
        DATABASE,
        "orders",
        f"SELECT count(*) FROM orders WHERE customer_email = '{EMAIL}' AND status = 'pending'",
    )
    return int(count)


@pytest.mark.clients_see_failures
def test_a_full_order_database_disk_refuses_orders_with_503_serves_reads_and_recovers_alone(
    testbed: Testbed, kube: Kube, gateway_url: str, timeline: Timeline
) -> None:
    # arrange: order-service Ready; order-db on a filesystem that can fill, on a fresh WAL
    # segment; orders flowing
    wait_rolled_out(kube, SERVICE)
    wait_rolled_out(kube, DATABASE, kind="StatefulSet")
    with faults.on_small_filesystem(kube, DATABASE, CLAIM) as volume:
        wait_rolled_out(kube, SERVICE)
        restarts_before = restart_counts(kube, SERVICE)
        fresh_wal_segment(testbed, kube)
        with TrafficProbe(
            gateway_url, TARGETS, rate=RATE, workers=8, timeout=CLIENT_TIMEOUT
        ) as probe:
            eventually(
                lambda: order_acknowledged_after(probe, 0.0),
                timeout=30,
                what="orders acknowledged before the fault",
                hint="is the system healthy?",
            )

            # act: not a byte left on order-db's volume, for HOLD_SECONDS from the first
            # order refused; then freed
            left = volume.fill(leave=0)
            full_at = probe.elapsed()
            first_refused = eventually(
                lambda: order_refused_after(probe, full_at),
                timeout=REFUSAL_TIMEOUT,
                what="an order refused on the full disk",
                hint="does order-db write into the volume the test filled?",
            )
            # The negative control: with the disk full, the recovery check must fail. Orders
            # sent before the first refusal have had ANSWER_BOUND to finish.
            control_since = first_refused + ANSWER_BOUND
            time.sleep(max(0.0, control_since - probe.elapsed()))
            with pytest.raises(AssertionError, match="orders taken again"):
                eventually(
                    lambda: orders_flowing_after(probe, control_since),
                    timeout=max(0.0, HOLD_SECONDS - ANSWER_BOUND),
                    what="orders taken again (control: the disk is still full)",
                )
            freed_at = probe.elapsed()
            volume.free()
            recovered_at = eventually(
                lambda: orders_flowing_after(probe, freed_at),
                timeout=60,
                what="orders taken again after space was freed",
                hint="order-service must take orders again by itself once order-db can write",
            )
        restarts_after = restart_counts(kube, SERVICE)
        pending = pending_orders(testbed, kube)

    # assert: the orders refused while the disk was full got a prompt 503 with a JSON body;
    # nothing else failed; orders again within the bound, from the same pods
    summary = probe.summary()
    timeline.attach(
        summary,
        {
            "full": full_at,
            "first refusal": first_refused,
            "freed": freed_at,
            "orders again": recovered_at,
        },
    )
    orders_while_full = between(summary.outcomes, full_at, freed_at, "order")
    refused = [o for o in orders_while_full if not o.ok]
    recovery = recovered_at - freed_at
    slowest = max((o.latency for o in refused), default=0.0)
    figures = (
        f"full to the last byte at t={full_at:.1f}s ({left} bytes free); first refusal at "
        f"t={first_refused:.1f}s; freed at t={freed_at:.1f}s; orders taken again "
        f"{recovery:.1f}s later; "
        f"orders sent while full: {by_status(orders_while_full)}, slowest refusal "
        f"{slowest:.2f}s; {pending} of this test's orders pending when it ended (the "
        f"reconciler's to finish); {summary}"
    )
    print(f"\n{figures}")
    record("full_disk", figures)
    record("full_disk.recovery_seconds", round(recovery, 1))
    record("full_disk.slowest_answer_seconds", round(slowest, 2))
    record(
        "power.full-disk",
        f"one full disk, once: {len(refused)} of the {len(orders_while_full)} orders sent "
        "while it was full met it, so a 500, a late answer or an order served without space "
        "is caught every time, not by chance",
    )
    assert left == 0, f"{left} bytes were still free"
    assert refused, "the full disk refused no order"
    assert unclean(orders_while_full, frozenset({503})) == [], "not a 503 with a JSON body:\n" + (
        summary.timeline()
    )
    assert slow(refused, ANSWER_BOUND) == [], f"refused later than {ANSWER_BOUND:g} s"
    served = failures_among(summary, SERVED)
    assert served == [], f"requests that need no new space failed: {served[:5]}"
    assert recovery <= RECOVERY_BOUND, f"orders again only {recovery:.1f} s after space was freed"
    assert restarts_after == restarts_before, "order-service was restarted (or replaced)"
