"""Negative controls of the campaign's checker. The first four plant an anomaly in the real
final state of the campaign (the databases of its stack); the others plant one in a copy of its
real history or state. Each shows the checker reports it, naming the planted order, key, SKU or
operation, where it did not before the plant.

The duplicate notification needs the unique index out of the way: FerretDB refuses a second
document for an order while `one_notification_per_order` exists, so the control drops the index
first (as a collection re-created while notification-service runs would have none) and puts it
back afterwards.
"""

from __future__ import annotations

import copy
import dataclasses
import uuid
from collections.abc import Callable

import pymongo.errors
import pytest
from psycopg.types.json import Jsonb

from . import state
from .checker import Violation, about, check, tag_of
from .conftest import CampaignRun
from .history import Answer, History, Operation
from .state import State
from .test_campaign import FAULT_GRACE_SECONDS, limits
from .verdict import answer_deadline

UNIQUE_INDEX = "one_notification_per_order"


def _judge(run: CampaignRun) -> list[Violation]:
    """The checker's verdict on the campaign's history and the databases as they are now."""
    campaign = run.campaign
    now = state.read_state(
        run.stack.infra, campaign.history.initial_stock, campaign.state.first_count
    )
    return check(campaign.history, now, limits(campaign))


def _clean_confirmed_order(run: CampaignRun, before: list[Violation]) -> str:
    """An acknowledged, confirmed order no violation names yet."""
    for op in run.campaign.history.placements:
        order_id = op.order_id
        if op.status != 201 or op.order_status != "confirmed" or order_id is None:
            continue
        if not about(before, order_id) and order_id in run.campaign.state.orders:
            return order_id
    raise AssertionError("the campaign acknowledged no confirmed order the checker passed")


def test_the_checker_reports_a_lost_acknowledged_order(campaign_run: CampaignRun) -> None:
    # arrange: an order the campaign acknowledged as confirmed, and the verdict before
    before = _judge(campaign_run)
    order_id = _clean_confirmed_order(campaign_run, before)

    # act: plant the anomaly, the order's row deleted from order-db (put back afterwards)
    with campaign_run.stack.infra.db("orders") as conn:
        deleted = conn.execute("DELETE FROM orders WHERE id = %s RETURNING *", (order_id,))
        columns = [c.name for c in deleted.description or []]
        row = deleted.fetchone()
        assert row is not None
        try:
            after = _judge(campaign_run)
        finally:
            values = [Jsonb(v) if isinstance(v, list | dict) else v for v in row]
            conn.execute(
                f"INSERT INTO orders ({', '.join(columns)})"
                f" VALUES ({', '.join(['%s'] * len(columns))})",
                values,
            )

    # assert: reported as a lost acknowledged order
    assert about(after, order_id, "acknowledged orders exist"), [str(v) for v in after]


def test_the_checker_reports_stock_that_is_not_conserved(campaign_run: CampaignRun) -> None:
    # arrange: a campaign SKU, and the verdict before
    before = _judge(campaign_run)
    infra, skus = campaign_run.stack.infra, list(campaign_run.campaign.history.initial_stock)
    stock = state.read_inventory(infra, skus)[1]
    sku = skus[0]

    # act: plant the anomaly, seven units on the shelf that no release put there (taken away
    # again). Added, not taken: a long campaign can sell a product out, and the stock's CHECK
    # refuses a negative count (seed 599876 left 4 units of the best-stocked product).
    with infra.db("inventory") as conn:
        conn.execute("UPDATE products SET stock = stock + 7 WHERE sku = %s", (sku,))
        try:
            after = _judge(campaign_run)
        finally:
            conn.execute("UPDATE products SET stock = stock - 7 WHERE sku = %s", (sku,))

    # assert: a new conservation violation names the SKU and its stock seven units higher
    new = set(about(after, sku, "stock is conserved")) - set(about(before, sku))
    assert any(f"has {stock[sku] + 7}," in v for v in new), [str(v) for v in after]


def test_the_checker_reports_a_duplicate_notification(campaign_run: CampaignRun) -> None:
    # arrange: a confirmed order with its one notification, and the verdict before
    before = _judge(campaign_run)
    order_id = _clean_confirmed_order(campaign_run, before)
    client = state.mongo(campaign_run.stack.infra)
    collection = client[state.NOTIFICATIONS_DATABASE][state.NOTIFICATIONS_COLLECTION]
    original = collection.find_one({"order_id": order_id}, {"_id": False})
    assert original is not None, f"order {order_id} has no notification to duplicate"
    planted = {**original, "event_id": str(uuid.uuid4())}

    # act: plant a second notification for the order (the unique index refuses it; see above)
    try:
        collection.insert_one(planted)
        dropped = False
    except pymongo.errors.DuplicateKeyError:
        collection.drop_index(UNIQUE_INDEX)
        collection.insert_one(planted)
        dropped = True
    try:
        after = _judge(campaign_run)
    finally:
        collection.delete_one({"event_id": planted["event_id"]})
        if dropped:
            collection.create_index("order_id", unique=True, name=UNIQUE_INDEX)
        client.close()

    # assert: reported as two notifications for the order
    found = about(after, order_id, "exactly one notification per confirmed order")
    assert any("2 notifications" in v for v in found), [str(v) for v in after]


def test_the_checker_reports_an_order_pending_past_the_bound(campaign_run: CampaignRun) -> None:
    # arrange: order-service stopped, so its reconciler cannot finish the planted order first
    orders = campaign_run.stack.orders.process
    order_id = str(uuid.uuid4())
    orders.stop()
    try:
        # act: plant an order pending for ten minutes
        with campaign_run.stack.infra.db("orders") as conn:
            conn.execute(
                "INSERT INTO orders (id, idempotency_key, request_hash, customer_email, items,"
                " status, created_at) VALUES (%s, %s, 'planted', 'planted@example.com', '[]',"
                " 'pending', now() - interval '10 minutes')",
                (order_id, f"planted-{order_id}"),
            )
        after = _judge(campaign_run)
    finally:
        with campaign_run.stack.infra.db("orders") as conn:
            conn.execute("DELETE FROM orders WHERE id = %s", (order_id,))
        orders.start()

    # assert: reported, with its age
    found = about(after, order_id, "no order pending past the bound")
    assert any("pending for 600 s" in v for v in found), [str(v) for v in after]


# -- the other rules: an anomaly planted in a copy of the campaign's real history or state ------

Plant = Callable[[History, State], tuple[str, str]]


def _clean_201(history: History) -> Operation:
    """An acknowledged placement of a key (or none) that never got a 5xx."""
    failed_keys = {op.key for op in history.operations if op.status and op.status >= 500}
    for op in history.placements:
        if op.status == 201 and op.order_status == "confirmed" and op.key not in failed_keys:
            return op
    raise AssertionError("no cleanly acknowledged order in the campaign")


def _answer(status: int, body: object, is_json: bool = True) -> Answer:
    return Answer(status, body, is_json, {"content-type": "application/json"})


def plant_a_500(history: History, _: State) -> tuple[str, str]:
    op = _clean_201(history)
    op.answer = _answer(500, {"detail": "planted", "status": 500})
    return f"op #{op.index}", "no 5xx but a 503/504 during a fault"


def plant_a_503_far_from_any_fault(history: History, _: State) -> tuple[str, str]:
    op = _clean_201(history)
    later = max(w.end for w in history.faults) + FAULT_GRACE_SECONDS + 5
    op.invoked, op.completed = later, later + 0.1
    op.answer = _answer(503, {"detail": "planted", "status": 503})
    return f"op #{op.index}", "no 5xx but a 503/504 during a fault"


def plant_an_error_that_is_not_json(history: History, _: State) -> tuple[str, str]:
    op = next(op for op in history.operations if op.status == 422)
    op.answer = Answer(422, "<html>planted</html>", False, {"content-type": "text/html"})
    return f"op #{op.index}", "every error has a JSON body"


def plant_an_answer_with_another_request_id(history: History, _: State) -> tuple[str, str]:
    """A 201 whose X-Request-ID is not the one sent: the request cannot be traced by it."""
    op = _clean_201(history)
    assert op.answer is not None
    headers = {**op.answer.headers, "x-request-id": "someone-else"}
    op.answer = dataclasses.replace(op.answer, headers=headers)
    return f"op #{op.index}", "every answer carries its request id"


def plant_one_key_with_two_orders(history: History, _: State) -> tuple[str, str]:
    op = next(op for op in history.placements if op.status == 201 and op.key)
    twin = copy.deepcopy(op)
    twin.index = len(history.operations)
    assert twin.answer is not None
    twin.answer = _answer(201, {**twin.answer.body, "id": str(uuid.uuid4())})
    history.operations.append(twin)
    return str(op.key), "one key, one order"


def plant_another_customers_order_acknowledged(history: History, _: State) -> tuple[str, str]:
    """Another customer's placement with the first one's key answered with the first one's
    order: what a key shared by every customer did before keys were the customer's own."""
    op = _clean_201(history)
    twin = copy.deepcopy(op)
    twin.index = len(history.operations)
    twin.body = {**twin.body, "customer_email": "planted-other-customer@example.com"}
    history.operations.append(twin)
    return str(op.order_id), "one key, one order"


def plant_a_read_that_disagrees(history: History, _: State) -> tuple[str, str]:
    op = _clean_201(history)
    order_id, done = str(op.order_id), (op.completed or op.invoked) + 0.5
    assert op.answer is not None
    history.begin(
        kind="get_order", expect="read", method="GET", path=f"/api/orders/{order_id}",
        headers={}, body=None, invoked=done, completed=done + 0.1, outcome="ok",
        answer=_answer(200, {**op.answer.body, "status": "rejected"}),
    )  # fmt: skip
    return order_id, "reads agree with acknowledgements"


def plant_an_unresolved_timeout(history: History, _: State) -> tuple[str, str]:
    last_of_key: dict[str, Operation] = {op.key: op for op in history.placements if op.key}
    op = next(op for op in last_of_key.values() if op.status == 201 and op.kind == "place")
    op.answer, op.outcome, op.error = None, "unknown", "ReadTimeout: planted"
    return str(op.key), "uncertain orders are resolved"


def plant_an_invalid_order_accepted(history: History, _: State) -> tuple[str, str]:
    op = next(op for op in history.placements if op.expect == "refuse" and op.status == 422)
    op.answer = _clean_201(history).answer
    return f"op #{op.index}", "every input gets its designed answer"


def plant_an_invalid_order_rejected_without_a_fault(history: History, _: State) -> tuple[str, str]:
    """201 rejected for an invalid order whose key never met a fault: only the reconciler's
    finishing an order a fault left pending excuses that."""
    troubled = {op.key for op in history.placements if op.key and op.status != 422}
    op = next(
        op
        for op in history.placements
        if op.expect == "refuse" and op.status == 422 and op.key and op.key not in troubled
    )
    clean = _clean_201(history).answer
    assert clean is not None
    op.answer = _answer(201, {**clean.body, "status": "rejected", "reason": "planted"})
    return f"op #{op.index}", "every input gets its designed answer"


def plant_two_orders_for_one_request(_: History, state: State) -> tuple[str, str]:
    original = next(o for o in state.orders.values() if tag_of(o.email))
    twin = dataclasses.replace(original, id=str(uuid.uuid4()), key=f"planted-{original.key}")
    state.orders[twin.id] = twin
    return str(tag_of(original.email)), "one request, at most one order"


def plant_a_hang_past_the_deadline(history: History, _: State) -> tuple[str, str]:
    """A request held past the gateway's deadline (as a gateway without a read timeout would
    hold one to a paused order-service), answered 504 in the end."""
    op = _clean_201(history)
    # after every fault, so no pause of the gateway itself excuses the wait
    op.invoked = max(w.end for w in history.faults) + 1
    op.completed = op.invoked + answer_deadline() + 5
    op.answer = _answer(504, {"detail": "planted", "status": 504})
    return f"op #{op.index}", "every request is answered within the gateway's deadline"


def plant_a_request_never_answered(history: History, _: State) -> tuple[str, str]:
    """The client gave up waiting (no answer at all) and the gateway was not paused."""
    op = _clean_201(history)
    # after every fault, so no pause of the gateway itself excuses the wait
    op.invoked = max(w.end for w in history.faults) + 1
    op.completed = op.invoked + answer_deadline() + 5
    op.answer, op.outcome, op.error = None, "unknown", "ReadTimeout: planted"
    return f"op #{op.index}", "every request is answered within the gateway's deadline"


def _refused_bad_request(history: History) -> Operation:
    for op in history.operations:
        if op.kind == "bad_request" and op.status == 422 and op.tag:
            return op
    raise AssertionError("the campaign sent no bad request that was refused with a 422")


def plant_a_500_for_a_bad_request(history: History, _: State) -> tuple[str, str]:
    """A 500 for a bad request, inside a fault window: not excused (no backend is asked)."""
    op = _refused_bad_request(history)
    window = history.faults[0]
    op.invoked, op.completed = window.start, window.start + 0.1
    op.answer = _answer(500, {"detail": "planted", "status": 500})
    return f"op #{op.index}", "a bad request gets a 4xx and changes nothing"


def plant_a_bad_request_accepted(history: History, _: State) -> tuple[str, str]:
    op = _refused_bad_request(history)
    op.answer = _clean_201(history).answer
    return f"op #{op.index}", "a bad request gets a 4xx and changes nothing"


def plant_an_order_from_a_bad_request(history: History, state: State) -> tuple[str, str]:
    """A bad request refused with a 422 that left an order behind all the same."""
    op = _refused_bad_request(history)
    model = next(iter(state.orders.values()))
    planted = dataclasses.replace(
        model, id=str(uuid.uuid4()), key=f"planted-{op.index}", email=f"{op.tag}@example.com"
    )
    state.orders[planted.id] = planted
    return str(op.tag), "a bad request gets a 4xx and changes nothing"


def plant_a_process_that_did_not_come_back(history: History, _: State) -> tuple[str, str]:
    history.nemesis_errors.append("planted: redis could not be started again")
    return "planted: redis", "every process comes back"


@pytest.mark.parametrize(
    "plant",
    [
        plant_a_500,
        plant_a_503_far_from_any_fault,
        plant_an_error_that_is_not_json,
        plant_an_answer_with_another_request_id,
        plant_one_key_with_two_orders,
        plant_another_customers_order_acknowledged,
        plant_a_read_that_disagrees,
        plant_an_unresolved_timeout,
        plant_an_invalid_order_accepted,
        plant_an_invalid_order_rejected_without_a_fault,
        plant_two_orders_for_one_request,
        plant_a_process_that_did_not_come_back,
        plant_a_hang_past_the_deadline,
        plant_a_request_never_answered,
        plant_a_500_for_a_bad_request,
        plant_a_bad_request_accepted,
        plant_an_order_from_a_bad_request,
    ],
    ids=lambda plant: plant.__name__.removeprefix("plant_").replace("_", " "),
)
def test_the_checker_reports_a_planted_history_anomaly(
    campaign_run: CampaignRun, plant: Plant
) -> None:
    # arrange: a copy of the campaign's history and final state, and the verdict on them
    campaign = campaign_run.campaign
    history, final = copy.deepcopy(campaign.history), copy.deepcopy(campaign.state)
    before = check(campaign.history, campaign.state, limits(campaign))

    # act: plant the anomaly in the copy
    needle, rule = plant(history, final)
    after = check(history, final, limits(campaign))

    # assert: reported after the plant, not before
    assert not about(before, needle, rule), "the anomaly was there before the plant"
    assert about(after, needle, rule), [str(v) for v in after]
