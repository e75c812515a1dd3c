"""Network faults around order-service: cut off from its database, and without DNS. Each fault
is dropped packets in the pods' own network namespaces (testbed/faults.py), undone by its
context manager however the test ends. The designed answers and their bounds:
docs/services.md, "Network faults: the designed answers"; the bounds are the drawing's SLOs.

Each test carries its negative control inside the fault, where it costs no extra time: while
the fault is still on, the same recovery check that must pass after healing is run and must
fail, so "recovered" means the fault is gone, not that the check cannot fail.

Latency: every packet order-service sends on one edge is held by a delayer on the host
(`testbed.nfqueue`, through the kernel's netfilter queue: this kernel has no netem).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager

import httpx
import pytest

from kubepromises.waiting import NotYet, eventually
from suites import promises
from suites.reporting.plugin import Timeline
from suites.resilience.answers import (
    between,
    by_status,
    failures_among,
    order_acknowledged_after,
    restart_counts,
    slow,
    unclean,
)
from suites.resilience.live import record, selector, wait_rolled_out
from testbed import faults
from testbed.cluster import Testbed
from testbed.kube import Kube
from testbed.traffic import (
    NOTIFICATIONS,
    Outcome,
    Target,
    TrafficProbe,
    acknowledge,
    order_target,
    read,
)

pytestmark = pytest.mark.cluster

SERVICE = "order-service"
DATABASE = "order-db"
DATABASE_PORT = promises.workload(DATABASE).port
#: How long each fault lasts (issue 17: 30 s).
FAULT_SECONDS = 30.0
#: Orders use up stock for good, so the rate stays low; reads fill in the timeline.
RATE = 12.0
ORDER_SKU = "SKU-CABLE"
#: Above the gateway's read timeout (10 s): a request order-service never answers shows as a
#: slow 504 from the gateway, measured against the bound, rather than as a client timeout.
CLIENT_TIMEOUT = 15.0
#: Concurrent orders, more than the connections order-service keeps open to inventory-service
#: under the probe's rate: most of them need a new connection, so a lookup.
BURST = 20

ANSWER_BOUND = promises.DRAWING.slo("partition-answer").at_most
RECOVERY_BOUND = promises.DRAWING.slo("partition-recovery").at_most
DNS_ANSWER_BOUND = promises.DRAWING.slo("dns-answer").at_most
DNS_RECOVERY_BOUND = promises.DRAWING.slo("dns-recovery").at_most

ORDERS = order_target(ORDER_SKU, "network-faults@example.com")
ORDER_READS = read("orders", "/api/orders?limit=1")
#: What does not need order-service at all: it must be served through any fault of it.
ELSEWHERE: tuple[Target, ...] = (
    read("catalogue", "/api/inventory/products"),
    read("inventory", "/api/inventory/products/SKU-PROBE-UNKNOWN", 404),
    NOTIFICATIONS,
)
TARGETS = (ORDERS, ORDER_READS, *ELSEWHERE)


@contextmanager
def cut_off(kube: Kube, pods: list[str], peers: list[str], port: int) -> Iterator[None]:
    """Every pod partitioned from the peers; all undone on the way out."""
    with ExitStack() as stack:
        for pod in pods:
            stack.enter_context(faults.partition(kube, pod, peers, port))
        yield


@contextmanager
def without_dns(kube: Kube, pods: list[str]) -> Iterator[None]:
    """No DNS answer reaches any of the pods; all undone on the way out."""
    with ExitStack() as stack:
        for pod in pods:
            stack.enter_context(faults.dns_outage(kube, pod))
        yield


# -- the partition --------------------------------------------------------------------------


def test_order_service_cut_off_from_its_database_answers_503_promptly_and_recovers_alone(
    kube: Kube, gateway_url: str, timeline: Timeline
) -> None:
    # arrange: order-service Ready, where order-db is (its Service's cluster IP, as the pods
    # send to it before kube-proxy translates it, and its pod's own IP), traffic flowing
    wait_rolled_out(kube, SERVICE)
    wait_rolled_out(kube, DATABASE, kind="StatefulSet")
    pods = sorted(restart_counts(kube, SERVICE))
    restarts_before = restart_counts(kube, SERVICE)
    peers = faults.peers(kube, DATABASE, selector(DATABASE))

    with TrafficProbe(gateway_url, TARGETS, rate=RATE, workers=8, timeout=CLIENT_TIMEOUT) as probe:
        eventually(
            lambda: order_acknowledged_after(probe, 0.0),
            timeout=30,
            what="orders acknowledged before the fault",
            hint="is the system healthy?",
        )

        # act: every order-service pod cut off from order-db for FAULT_SECONDS
        with cut_off(kube, pods, peers, DATABASE_PORT):
            cut_at = probe.elapsed()
            # The negative control: while the partition holds, the recovery check (an order
            # acknowledged, within the recovery bound) must fail. Orders sent before the cut
            # have had ANSWER_BOUND to finish.
            control_since = cut_at + ANSWER_BOUND
            time.sleep(ANSWER_BOUND)
            with pytest.raises(AssertionError, match="orders acknowledged again"):
                eventually(
                    lambda: order_acknowledged_after(probe, control_since),
                    timeout=RECOVERY_BOUND,
                    what="orders acknowledged again (control: the partition still holds)",
                )
            # the rest of the fault's length: the fault's duration is the test's input
            time.sleep(max(0.0, cut_at + FAULT_SECONDS - probe.elapsed()))
            # Healing starts here (the undo deletes each pod's rules in turn, a few seconds in
            # all): the window of the fault ends, and the recovery is counted, from here.
            heal_from = probe.elapsed()
        healed_at = probe.elapsed()

        recovered_at = eventually(
            lambda: order_acknowledged_after(probe, heal_from),
            timeout=60,
            what="orders acknowledged again after the partition healed",
            hint="order-service's pool must reconnect to order-db by itself",
        )

    # assert: prompt 503s with a JSON body for what needs order-db, nothing else failed, and
    # orders again within the bound, from the same pods
    summary = probe.summary()
    timeline.attach(
        summary,
        {
            "partitioned": cut_at,
            "healing": heal_from,
            "healed": healed_at,
            "orders again": recovered_at,
        },
    )
    needing_db = between(summary.outcomes, cut_at, heal_from, "order", "orders")
    elsewhere = failures_among(summary, ELSEWHERE)
    recovery = recovered_at - heal_from
    slowest = max((o.latency for o in needing_db), default=0.0)
    restarts_after = restart_counts(kube, SERVICE)

    figures = (
        f"cut off at t={cut_at:.1f}s for {heal_from - cut_at:.1f}s (undone in "
        f"{healed_at - heal_from:.1f}s), orders again {recovery:.1f}s after healing began; "
        f"answers needing order-db during the partition: "
        f"{by_status(needing_db)}, slowest {slowest:.2f}s; {summary}"
    )
    print(f"\n{figures}")
    record("network_faults.partition", figures)
    record("network_faults.partition.recovery_seconds", round(recovery, 1))
    record("network_faults.partition.slowest_answer_seconds", round(slowest, 2))
    # Why one cut suffices: the fault is not a race. The requests needing order-db during it
    # met it, so a service that served one, or answered one late, is caught by this one cut.
    record(
        "power.network-faults.partition",
        f"one {FAULT_SECONDS:g}-s cut, once: {sum(not o.ok for o in needing_db)} of the "
        f"{len(needing_db)} requests needing order-db met it, so one answered after "
        f"{ANSWER_BOUND:g} s, or served through the cut, is caught every time, not by chance",
    )
    assert [o for o in needing_db if not o.ok], "the partition failed no request"
    # Served before healing began: none (a request still waiting for a connection when the
    # undo starts may be served by it, within its wait)
    served = [o for o in needing_db if o.ok and o.at + o.latency < heal_from]
    assert served == [], f"order-db answered through the partition: {served[:3]}"
    assert unclean(needing_db, frozenset({503})) == [], "not a 503 with a JSON body:\n" + (
        summary.timeline()
    )
    assert slow(needing_db, ANSWER_BOUND) == [], f"answered later than {ANSWER_BOUND:g} s"
    # the bound check's own control: the failures took measurable time, so a bound below the
    # slowest of them would have failed
    assert slow(needing_db, slowest / 2) != []
    assert elsewhere == [], f"requests that do not need order-db failed: {elsewhere[:5]}"
    assert recovery <= RECOVERY_BOUND, f"orders again only {recovery:.1f} s after healing"
    assert restarts_after == restarts_before, "order-service was restarted (or replaced)"


# -- DNS ------------------------------------------------------------------------------------

#: Run in a pod: does a lookup of a Service name get an answer within 3 s? (A lookup with no
#: answer blocks for ~40 s: 4 names (3 search domains and bare), 2 tries of 5 s each; the
#: thread is left behind.)
LOOKUP = (
    "import json, os, socket, threading, time\n"
    "seen = {}\n"
    "def look():\n"
    "    start = time.monotonic()\n"
    "    try:\n"
    "        socket.getaddrinfo('inventory-service', 9000)\n"
    "        seen['answer'] = 'resolved'\n"
    "    except OSError as e:\n"
    "        seen['answer'] = type(e).__name__\n"
    "    seen['seconds'] = round(time.monotonic() - start, 2)\n"
    "t = threading.Thread(target=look, daemon=True)\n"
    "t.start()\n"
    "t.join(3)\n"
    "print(json.dumps(seen or {'answer': 'none within 3 s'}), flush=True)\n"
    "os._exit(0)\n"
)


def lookup_from(testbed: Testbed, kube: Kube, pod: str) -> str:
    """What a fresh lookup of a Service name gets inside the pod: 'resolved', an error, or
    'none within 3 s'."""
    out = testbed.kubectl(
        "exec", "-n", kube.namespace, pod, "--", "python", "-c", LOOKUP, timeout=30
    )
    answer: str = json.loads(out.strip().splitlines()[-1])["answer"]
    return answer


def order_burst(gateway_url: str, count: int) -> list[Outcome]:
    """`count` orders sent at once, each on its own connection to the gateway."""
    started = time.monotonic()

    def place(_: int) -> Outcome:
        body = ORDERS.body() if ORDERS.body else None
        sent = time.monotonic()
        try:
            with httpx.Client(base_url=gateway_url, timeout=CLIENT_TIMEOUT) as client:
                response = client.post(
                    ORDERS.path, json=body, headers={"Idempotency-Key": str(uuid.uuid4())}
                )
        except httpx.HTTPError as error:
            latency = time.monotonic() - sent
            return Outcome(sent - started, "burst", None, type(error).__name__, latency, False)
        try:
            payload: object = response.json()
        except ValueError:
            payload = response.text[:200]
        latency = time.monotonic() - sent
        outcome = Outcome(
            sent - started, "order", response.status_code, "", latency, response.is_success, payload
        )
        acknowledge(outcome)
        return outcome

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(place, range(count)))


def burst_acknowledged(gateway_url: str) -> list[Outcome]:
    """The recovery check: a burst of BURST concurrent orders, every one acknowledged."""
    outcomes = order_burst(gateway_url, BURST)
    if any(o.status != 201 for o in outcomes):
        raise NotYet(f"burst of {BURST} orders: {by_status(outcomes)}")
    return outcomes


def test_order_service_without_dns_keeps_its_connections_fails_new_ones_promptly_and_recovers(
    testbed: Testbed, kube: Kube, gateway_url: str, timeline: Timeline
) -> None:
    # arrange: order-service Ready, lookups answered in its pods, a burst of orders all
    # acknowledged (the recovery check passes when nothing is wrong)
    wait_rolled_out(kube, SERVICE)
    pods = sorted(restart_counts(kube, SERVICE))
    restarts_before = restart_counts(kube, SERVICE)
    assert [lookup_from(testbed, kube, pod) for pod in pods] == ["resolved"] * len(pods)
    burst_acknowledged(gateway_url)

    with TrafficProbe(gateway_url, TARGETS, rate=RATE, workers=8, timeout=CLIENT_TIMEOUT) as probe:
        eventually(
            lambda: order_acknowledged_after(probe, 0.0),
            timeout=30,
            what="orders acknowledged before the fault",
            hint="is the system healthy?",
        )

        # act: no DNS answer reaches any order-service pod for FAULT_SECONDS
        with without_dns(kube, pods):
            out_at = probe.elapsed()
            lookups_during = [lookup_from(testbed, kube, pod) for pod in pods]
            # The burst comes once the connections the arrange burst opened have idled out
            # (order-service keeps an idle connection 15 s), so it needs new ones, so lookups.
            # It is also the negative control: the recovery check, run while DNS is out, must
            # fail.
            time.sleep(max(0.0, out_at + 20.0 - probe.elapsed()))
            burst_at = probe.elapsed()
            during = order_burst(gateway_url, BURST)
            time.sleep(max(0.0, out_at + FAULT_SECONDS - probe.elapsed()))
            back_from = probe.elapsed()  # the undo starts: the outage's window ends here
        back_at = probe.elapsed()

        after = eventually(
            lambda: burst_acknowledged(gateway_url),
            timeout=60,
            interval=1.0,
            what=f"a burst of {BURST} orders all acknowledged after DNS returned",
            hint="lookups waiting in order-service re-send their query every 5 s",
        )
        recovered_at = probe.elapsed()
        lookups_after = [lookup_from(testbed, kube, pod) for pod in pods]

    # assert: existing connections kept serving, new ones failed promptly with 503 + JSON,
    # orders needing new connections acknowledged again within the bound, same pods
    summary = probe.summary()
    timeline.attach(
        summary,
        {
            "DNS out": out_at,
            "burst": burst_at,
            "DNS returning": back_from,
            "DNS back": back_at,
            "burst served": recovered_at,
        },
    )
    reads = between(summary.outcomes, 0.0, summary.duration, "orders")
    orders_during = between(summary.outcomes, out_at, back_from, "order") + during
    elsewhere = failures_among(summary, ELSEWHERE)
    recovery = recovered_at - back_from
    slowest = max((o.latency for o in orders_during), default=0.0)
    restarts_after = restart_counts(kube, SERVICE)

    figures = (
        f"DNS out at t={out_at:.1f}s for {back_from - out_at:.1f}s (undone in "
        f"{back_at - back_from:.1f}s); lookups in the pods during: "
        f"{lookups_during}, after: {lookups_after}; burst of {BURST} during the outage: "
        f"{by_status(during)}; orders during the outage: {by_status(orders_during)}, slowest "
        f"{slowest:.2f}s; a burst all acknowledged {recovery:.1f}s after DNS returned "
        f"({len(after)} orders); order reads: {by_status(reads)}; {summary}"
    )
    print(f"\n{figures}")
    record("network_faults.dns", figures)
    record("network_faults.dns.recovery_seconds", round(recovery, 1))
    record("network_faults.dns.slowest_answer_seconds", round(slowest, 2))
    # Why one outage suffices: the burst's failures (the control below) show its orders needed
    # lookups during it, so an order-service that waited on a lookup past the bound is caught.
    record(
        "power.network-faults.dns",
        f"one {FAULT_SECONDS:g}-s outage, once: {sum(o.status != 201 for o in during)} of the "
        f"burst's {BURST} orders failed for want of a lookup, so a lookup waited on past "
        f"{DNS_ANSWER_BOUND:g} s is caught every time, not by chance",
    )
    assert "resolved" not in lookups_during, f"lookups still answered: {lookups_during}"
    assert [o for o in reads if not o.ok] == [], "order reads over pooled connections failed"
    assert elsewhere == [], f"requests that do not need order-service failed: {elsewhere[:5]}"
    assert unclean(orders_during, frozenset({503})) == [], (
        f"orders not answered 201 or 503 with a JSON body: {by_status(orders_during)}"
    )
    assert slow(orders_during, DNS_ANSWER_BOUND) == [], (
        f"orders answered later than {DNS_ANSWER_BOUND:g} s during the outage"
    )
    # the negative control: the recovery check failed while DNS was out
    assert any(o.status != 201 for o in during), (
        f"the burst during the outage was all acknowledged, so it needed no lookup: "
        f"{by_status(during)}"
    )
    assert recovery <= DNS_RECOVERY_BOUND, f"orders again only {recovery:.1f} s after DNS"
    assert lookups_after == ["resolved"] * len(pods)
    assert restarts_after == restarts_before, "order-service was restarted (or replaced)"


# -- latency --------------------------------------------------------------------------------

INVENTORY = "inventory-service"
INVENTORY_PORT = promises.workload(INVENTORY).port
#: The two delays of the issue, one on each of order-service's synchronous edges: +300 ms to
#: inventory-service (a slow dependency the service must wait out), +3 s to order-db (longer
#: than the database's dead-peer timeout, 3 s: a database that has stopped answering).
SHORT_DELAY, LONG_DELAY = 0.3, 3.0
#: How long each delay lasts.
LATENCY_SECONDS = 8.0
LATENCY_P95_BOUND = promises.DRAWING.slo("latency-order-p95").at_most


@contextmanager
def delayed_all(
    kube: Kube, pods: list[str], peers: list[str], port: int, delay: float
) -> Iterator[None]:
    """What every pod sends to the peers on `port` delayed; all undone on the way out."""
    with ExitStack() as stack:
        for pod in pods:
            stack.enter_context(faults.delayed(kube, pod, peers, port, delay))
        yield


def p50_p95(outcomes: list[Outcome]) -> tuple[float, float]:
    latencies = sorted(o.latency for o in outcomes) or [0.0]
    return (
        latencies[len(latencies) // 2],
        latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))],
    )


def kept_the_order_p95(orders: list[Outcome]) -> str:
    """What is asked of orders while a dependency is 300 ms slower, as a failure message ("" if
    kept): every one acknowledged, and their p95 within `latency-order-p95`."""
    failed = [o for o in orders if not o.ok]
    if failed:
        return f"{len(failed)} of {len(orders)} orders failed: {by_status(failed)}"
    p95 = p50_p95(orders)[1]
    if p95 > LATENCY_P95_BOUND:
        return f"orders' p95 {p95:.2f} s, over {LATENCY_P95_BOUND:g} s"
    return ""


def test_latency_on_order_service_edges_keeps_every_answer_within_the_gateways_deadline(
    kube: Kube, gateway_url: str, timeline: Timeline
) -> None:
    # arrange: order-service, inventory-service and order-db Ready; where each dependency is
    # (its cluster IP and its pods' IPs); orders flowing
    wait_rolled_out(kube, SERVICE)
    wait_rolled_out(kube, INVENTORY)
    wait_rolled_out(kube, DATABASE, kind="StatefulSet")
    pods = sorted(restart_counts(kube, SERVICE))
    restarts_before = restart_counts(kube, SERVICE)
    inventory = faults.peers(kube, INVENTORY, selector(INVENTORY))
    database = faults.peers(kube, DATABASE, selector(DATABASE))

    with TrafficProbe(gateway_url, TARGETS, rate=RATE, workers=8, timeout=CLIENT_TIMEOUT) as probe:
        eventually(
            lambda: order_acknowledged_after(probe, 0.0),
            timeout=30,
            what="orders acknowledged before the delays",
            hint="is the system healthy?",
        )

        # act 1: +300 ms on everything order-service sends to inventory-service
        with delayed_all(kube, pods, inventory, INVENTORY_PORT, SHORT_DELAY):
            short_from = probe.elapsed()
            time.sleep(LATENCY_SECONDS)
            short_to = probe.elapsed()
        # act 2: +3 s on everything it sends to order-db
        with delayed_all(kube, pods, database, DATABASE_PORT, LONG_DELAY):
            long_from = probe.elapsed()
            time.sleep(LATENCY_SECONDS)
            heal_from = probe.elapsed()
        recovered_at = eventually(
            lambda: order_acknowledged_after(probe, heal_from),
            timeout=60,
            what="orders acknowledged again after the delay to order-db ended",
        )

    # assert: through +300 ms to inventory-service every order acknowledged within the p95
    # bound; through +3 s to order-db, what needs it answered 2xx or a prompt 503 with a JSON
    # body (never a 500, never the gateway's 504); what needs neither served throughout; orders
    # again within the partition's recovery bound, by the same pods
    summary = probe.summary()
    timeline.attach(
        summary,
        {
            "+300 ms to inventory": short_from,
            "+3 s to order-db": long_from,
            "delays off": heal_from,
            "orders again": recovered_at,
        },
    )
    short_orders = between(summary.outcomes, short_from, short_to, "order")
    short_all = between(summary.outcomes, short_from, short_to, *(t.name for t in TARGETS))
    long_orders = between(summary.outcomes, long_from, heal_from, "order")
    needing_db = between(summary.outcomes, long_from, heal_from, "order", "orders")
    elsewhere = [o for o in failures_among(summary, ELSEWHERE) if short_from <= o.at <= heal_from]
    recovery = recovered_at - heal_from
    restarts_after = restart_counts(kube, SERVICE)
    short_p50, short_p95 = p50_p95(short_orders)
    long_p50, long_p95 = p50_p95(needing_db)
    figures = (
        f"+{SHORT_DELAY * 1000:.0f} ms to {INVENTORY} for {short_to - short_from:.1f}s: "
        f"{len(short_orders)} orders, p50 {short_p50:.2f}s, p95 {short_p95:.2f}s, "
        f"{by_status(short_all)}; +{LONG_DELAY:g} s to {DATABASE} for "
        f"{heal_from - long_from:.1f}s: answers needing it {by_status(needing_db)}, p50 "
        f"{long_p50:.2f}s, p95 {long_p95:.2f}s; orders again {recovery:.1f}s after the delay "
        f"ended; {summary}"
    )
    print(f"\n{figures}")
    record("network_faults.latency", figures)
    record("network_faults.latency.short_p50_seconds", round(short_p50, 2))
    record("network_faults.latency.short_p95_seconds", round(short_p95, 2))
    record("network_faults.latency.long_p50_seconds", round(long_p50, 2))
    record("network_faults.latency.long_p95_seconds", round(long_p95, 2))
    record("network_faults.latency.recovery_seconds", round(recovery, 1))
    # the delay bit: every order calls inventory-service, so none was faster than the delay
    assert short_orders, "no order was sent during the +300 ms"
    fastest = min(o.latency for o in short_orders)
    assert fastest >= SHORT_DELAY, f"an order took {fastest:.3f} s: the delay did not hold"
    assert kept_the_order_p95(short_orders) == "", kept_the_order_p95(short_orders)
    assert [o for o in short_all if not o.ok] == [], summary.timeline()
    # the negative control: the same check on the orders through +3 s to order-db fails
    assert long_orders, "no order was sent during the +3 s"
    assert kept_the_order_p95(long_orders) != "", (
        f"the order check passed with +{LONG_DELAY:g} s to order-db: {by_status(long_orders)}"
    )
    assert unclean(needing_db, frozenset({503})) == [], "not a 2xx or a 503 with a JSON body:\n" + (
        summary.timeline()
    )
    assert slow(needing_db, ANSWER_BOUND) == [], f"answered later than {ANSWER_BOUND:g} s"
    assert elsewhere == [], f"requests that need neither dependency failed: {elsewhere[:5]}"
    assert recovery <= RECOVERY_BOUND, f"orders again only {recovery:.1f} s after the delay"
    assert restarts_after == restarts_before, "order-service was restarted (or replaced)"
