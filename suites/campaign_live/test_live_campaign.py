"""Promise: orders stay correct under generated input and faults, on the testbed.

The local campaign's generated operations, history and checker (suites/campaign), against the
deployed system: the clients call the gateway through its NodePort while the nemesis deletes
pods of every service and of everything they call (databases, Redis, the queue) through the
Kubernetes API; the final state is read from the databases in their pods. A failure prints the
seed, the anomalies and the part of the history that concerns them, and keeps the whole
history; `--campaign-seed N` replays the inputs and the fault schedule. A run whose
notifications were still draining at the settle's limit, with nothing else broken, is skipped
as not verified (`verdict.judge`), as the local campaign's is.
"""

from __future__ import annotations

import threading
import time

import pytest

from kubepromises.waiting import NotYet, eventually
from suites import promises
from suites.campaign import traces, verdict
from suites.campaign.checker import Limits, check
from suites.campaign.history import History, Operation
from suites.campaign.runner import Campaign
from suites.campaign.shrink import involved, shortened
from suites.observability.store import LogStore
from suites.resilience.live import MEASUREMENTS, record
from suites.static.checks.graceful_shutdown import pre_stop_seconds
from suites.static.manifest import main_container
from testbed import proxy_lag
from testbed.kube import Kube

from .conftest import LiveCampaignRun
from .system import PENDING_BOUND

pytestmark = pytest.mark.cluster

#: After a workload is whole again, clients may still meet 503/504 for a while: kube-proxy
#: takes the deleted pod out of the Service's endpoints on every node, pooled connections to
#: it fail once, and the gateway's Redis cool-down ends.
FAULT_GRACE_SECONDS = 5.0

#: The longest a PostgreSQL server may keep the session of a client that vanished (the drawing's).
VANISHED_CLIENT_BOUND = promises.DRAWING.slo("vanished-client-session").at_most

#: The workload behind the API's NodePort, which the clients call (the drawing's).
GATEWAY = promises.API_NODE_PORT.workload


def limits(campaign: Campaign) -> Limits:
    return verdict.limits(campaign, FAULT_GRACE_SECONDS, gateway=GATEWAY)


def test_kube_proxy_programmed_the_campaigns_endpoint_changes_and_its_lag_is_recorded(
    live_campaign_run: LiveCampaignRun, kube: Kube
) -> None:
    """How long kube-proxy took to write the campaign's endpoint changes into each node's rules,
    against the gateway's preStop drain as deployed: a change later than the drain's end can
    send new connections to a gateway pod that has stopped (testbed/proxy_lag.py)."""
    # arrange: the drain as deployed, each node's changes during the campaign (the fixture)
    run = live_campaign_run
    deployed = kube.apps.read_namespaced_deployment(GATEWAY, kube.namespace)
    as_dict = kube.apps.api_client.sanitize_for_serialization(deployed)
    drain = pre_stop_seconds(main_container(as_dict))
    read = [changes for changes in run.programming.values() if not isinstance(changes, str)]
    unread = [error for error in run.programming.values() if isinstance(error, str)]

    # act
    lag = proxy_lag.summary(read, drain or 0)
    prefix = f"{run.figures}.kube_proxy"
    record(f"{prefix}.gateway_drain_seconds", drain)
    record(f"{prefix}.changes", lag.changes)
    record(f"{prefix}.changes_slower_than_the_drain", lag.slower_than_the_drain)
    slowest = "unbounded" if lag.slowest_at_most == proxy_lag.INF else lag.slowest_at_most
    record(f"{prefix}.slowest_seconds_at_most", slowest)

    # assert: a drain to compare with, every node read, and the pods the nemesis deleted seen
    assert drain, f"{GATEWAY} as deployed has no preStop drain"
    assert unread == [], unread
    deleted = [w for w in run.campaign.history.faults if w.kind in ("kill", "term")]
    assert lag.changes or not deleted, f"{len(deleted)} pods deleted, no endpoint change seen"


def test_orders_stay_correct_on_the_testbed_under_generated_input_and_pod_faults(
    live_campaign_run: LiveCampaignRun, campaign_logs: LogStore | None
) -> None:
    run = live_campaign_run
    campaign, history = run.campaign, run.campaign.history
    # arrange / act: the campaign ran (the fixture): operations, pod faults, resolution, dwell
    assert history.faults, "the nemesis injected no fault: the campaign checked nothing"
    assert any(op.status == 201 for op in history.placements), "no order was ever placed"
    resets = [w for w in history.faults if w.kind == "reset"]
    assert not resets or any(w.ended for w in resets), "no link reset ended a connection"

    # assert: the checker finds nothing in the history and the final state, and nothing was
    # left unchecked by a backlog still draining at the settle's limit (as the local campaign)
    judged = verdict.judge(campaign, check(history, campaign.state, limits(campaign)))
    verdict.record_figures(
        campaign, limits(campaign), run.figures, run.wall_seconds, judged.anomalies
    )
    record(f"{run.figures}.notifications.still_draining", len(judged.draining))
    if judged.anomalies or judged.not_verified:
        saved = MEASUREMENTS.parent / "campaign" / f"live-history-{history.seed}.json"
        saved.parent.mkdir(parents=True, exist_ok=True)
        saved.write_text(history.to_json())
        unsettled = "".join(f"\nnot settled: {message}" for message in campaign.unsettled)
        if judged.anomalies:
            concerned = involved(history, judged.anomalies)
            pytest.fail(
                f"{shortened(history, judged.anomalies)}\n{unsettled}\nfull history: {saved}\n"
                f"traced in the logs: {_traced(history, concerned, campaign_logs)}"
            )
        pytest.skip(f"not verified: {judged.not_verified}{unsettled}\nfull history: {saved}")


def test_the_gateway_logged_every_request_it_answered_during_the_campaign(
    live_campaign_run: LiveCampaignRun, campaign_logs: LogStore | None
) -> None:
    """The log path under faults: the gateway's access line of every request it answered
    reached the log store, found there by the request's X-Request-ID (the campaign's requests
    carry theirs). The faults are the campaign's (pods of every service and dependency deleted
    or frozen, calls cut); the log path itself (shipper, store) is not among their targets."""
    if campaign_logs is None:
        pytest.skip("not verified: the overlay ships no logs to a store")
    # arrange: what the gateway answered (its answers echo the request id: the checker's rule)
    history = live_campaign_run.campaign.history
    answered = {op.request_id: op for op in history.operations if op.answer is not None}
    store = campaign_logs

    # act: the gateway's lines under those ids, read again while the shipper still brings more
    missing = _not_in_the_store(store, answered)

    # assert
    prefix = f"{live_campaign_run.figures}.logs"
    lost = [answered[rid] for rid in sorted(missing, key=lambda rid: answered[rid].index)]
    near = [op for op in lost if _near_a_gateway_deletion(op, history)]
    record(f"{prefix}.answered", len(answered))
    record(f"{prefix}.not_in_the_store", len(lost))
    record(f"{prefix}.not_in_the_store_near_a_gateway_deletion", len(near))
    assert answered, "the gateway answered no request of the campaign"
    assert not lost, (
        f"{len(lost)} of {len(answered)} answered requests have no access line of {GATEWAY} in "
        f"the log store ({len(near)} answered within {DELETION_MARGIN_SECONDS:g} s of a "
        f"{GATEWAY} pod's deletion):\n" + "\n".join(op.line() for op in lost[:20])
    )


#: The gateway's access lines of a campaign's last requests may still be on their way: the
#: store is read again until nothing more arrives between two reads, for at most this long.
SHIPPING_SECONDS = 60.0
#: A request answered this close to a gateway pod's deletion (before it, or until the workload
#: is whole again) is said to be near one.
DELETION_MARGIN_SECONDS = 5.0


def _not_in_the_store(store: LogStore, answered: dict[str, Operation]) -> set[str]:
    """The request ids with no line of the gateway in the store, once no more arrive."""
    missing = set(answered)
    deadline = time.monotonic() + SHIPPING_SECONDS
    while missing:
        found = store.lines_of(missing, service=GATEWAY)
        still = missing - set(found)
        if still == missing or time.monotonic() > deadline:
            return still
        missing = still
        time.sleep(5)
    return missing


def _near_a_gateway_deletion(op: Operation, history: History) -> bool:
    done = op.completed if op.completed is not None else op.invoked
    return any(
        w.target == GATEWAY
        and w.kind in ("kill", "term")
        and w.start - DELETION_MARGIN_SECONDS <= done <= w.end + DELETION_MARGIN_SECONDS
        for w in history.faults
    )


def _traced(history: History, ops: list[Operation], store: LogStore | None) -> str:
    """The operations traced through the log store, in a file beside the history (its path)."""
    saved = MEASUREMENTS.parent / "campaign" / f"live-traces-{history.seed}.txt"
    if store is None:
        saved.write_text("not traced: the overlay ships no logs to a store\n")
    else:
        saved.write_text(traces.traced(ops, store.lines_of))
    return str(saved)


def test_no_database_session_is_left_idle_in_a_transaction(
    live_campaign_run: LiveCampaignRun,
) -> None:
    """What the campaign of seed 31980 found: a client cut off from PostgreSQL inside a
    transaction left the server's session idle in it, holding its orders locked for minutes.
    After the campaign no session may be idle in a transaction for longer than an order may stay
    pending (the services' roles end theirs after 30 s: docs/services.md, "Database roles")."""
    left = live_campaign_run.system.sessions_idle_in_transaction(PENDING_BOUND)
    assert left == []


def test_no_database_session_outlives_its_client(live_campaign_run: LiveCampaignRun) -> None:
    """The campaign deletes pods while they are cut off from their databases: each such pod's
    sessions get no FIN, and a server that kept them would fill its connection slots run after
    run. Within the drawing's bound from the check's start (after the last fault), no PostgreSQL
    session may be left whose client is gone. Its negative control is the live resilience test's
    (suites/resilience/test_a_vanished_client_leaves_no_session.py: a session that took back its
    keepalive is found), where the client is made to vanish on purpose."""
    system = live_campaign_run.system

    def none_left() -> None:
        left = system.sessions_of_gone_clients()
        if left:
            raise NotYet("; ".join(map(str, left)))

    eventually(
        none_left,
        timeout=VANISHED_CLIENT_BOUND,
        interval=5,
        what="PostgreSQL ending the sessions of the clients the campaign made vanish",
        hint="the services' roles bound a silent client (app-role.psql)",
    )


def test_negative_control_a_session_idle_in_a_transaction_is_found(
    live_campaign_run: LiveCampaignRun,
) -> None:
    # arrange: the administrator's session (its role has no timeout) begins a transaction in
    # order-db and says nothing more for IDLE seconds, beside the check
    system = live_campaign_run.system
    idle = 6
    holder = threading.Thread(
        target=system.execute,
        args=("order-db", "orders", f"BEGIN; SELECT 1; \\! sleep {idle}"),
    )
    holder.start()
    try:
        # act: the same check as above, with a limit the held session passes
        time.sleep(idle / 2)
        found = system.sessions_idle_in_transaction(idle / 4)
    finally:
        holder.join()

    # assert
    assert any("order-db" in line and "in orders" in line for line in found), found


def test_negative_control_an_order_changed_in_order_db_is_caught(
    live_campaign_run: LiveCampaignRun,
) -> None:
    """The live state is read from order-db itself: an acknowledged order whose row changes
    there after the campaign is reported."""
    # arrange: a confirmed order of the campaign that nothing was found wrong with, set to
    # rejected in order-db
    run = live_campaign_run
    campaign, system = run.campaign, run.system
    named = {
        item
        for v in check(campaign.history, campaign.state, limits(campaign))
        for item in v.evidence
    }
    confirmed = next(
        (
            op.order_id
            for op in campaign.history.placements
            if op.order_status == "confirmed"
            and op.order_id in campaign.state.orders
            and op.order_id not in named
        ),
        None,
    )
    assert confirmed is not None, "the campaign confirmed no order that could be planted on"
    planted = f"UPDATE orders SET status = 'rejected' WHERE id = '{confirmed}'"
    system.execute("order-db", "orders", planted)
    try:
        # act: the state read again, as the campaign reads it
        changed = system.read_state(campaign.history.initial_stock, campaign.state.first_count)
    finally:
        system.execute(
            "order-db", "orders", f"UPDATE orders SET status = 'confirmed' WHERE id = '{confirmed}'"
        )

    # assert: the checker reports that order as not kept
    violations = check(campaign.history, changed, limits(campaign))
    caught = [v for v in violations if confirmed in v.evidence]
    assert any(v.rule == "acknowledged orders exist" for v in caught), violations
