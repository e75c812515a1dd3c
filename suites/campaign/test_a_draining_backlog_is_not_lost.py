"""A confirmed order without its notification is lost when the notification backlog stalled, or
when the settle completed without it; when the settle's limit came while the backlog still went
down, it is late, not known to be lost: the verdict says "still draining", counts no anomaly for
it, and does not pass the run either (`verdict.judge`). Every other invariant is judged as ever.
The settle itself tells the three endings apart (`runner._settle_while_progressing`)."""

from __future__ import annotations

import dataclasses
import itertools

from .checker import ONE_NOTIFICATION, Violation, check
from .history import Answer, History
from .runner import Campaign, Drain, Settings, _settle_while_progressing
from .state import OrderRow, ReservationRow, State
from .verdict import Judgement, judge, limits

SKU = "sku-a"
#: Three confirmed orders; the first has its notification, the other two do not (yet).
ORDERS = ("order-1", "order-2", "order-3")
NOTIFIED = ORDERS[0]
MISSING = ORDERS[1:]
WHAT = "every final order notified and the outbox empty"


def _placed(history: History, number: int, order_id: str) -> OrderRow:
    """An order placed and answered 201 confirmed, in the history; its row in order-db."""
    tag, key = f"s1n{number}", f"key-{number}"
    email = f"{tag}@example.com"
    body = {"customer_email": email, "items": [{"sku": SKU, "quantity": 1}]}
    op = history.begin(
        kind="place", expect="accept", method="POST", path="/api/orders",
        headers={"Idempotency-Key": key}, body=body, invoked=float(number), key=key, tag=tag,
        skus=(SKU,),
    )  # fmt: skip
    op.completed, op.outcome = number + 0.2, "ok"
    echoed = {"x-request-id": op.request_id}
    op.answer = Answer(201, {"id": order_id, "status": "confirmed"}, True, echoed)
    return OrderRow(order_id, key, "confirmed", email, ((SKU, 1),), age=60.0)


def campaign(ended: Drain, stock_left: int = 7) -> Campaign:
    """A run of three confirmed orders of one SKU (10 in stock), two of them not notified at the
    final read, whose notification settle ended as `ended`."""
    history = History(seed=1, initial_stock={SKU: 10})
    rows = [_placed(history, number, order) for number, order in enumerate(ORDERS, 1)]
    state = State(
        orders={row.id: row for row in rows},
        reservations={row.id: ReservationRow(row.id, "reserved", row.items, 60.0) for row in rows},
        initial_stock={SKU: 10},
        stock={SKU: stock_left},
        notifications={NOTIFIED: ["confirmed"]},
    )
    unsettled = [ended.message] if ended.message else []
    return Campaign(Settings(seed=1), history, state, {}, unsettled, ended)


DRAINING = Drain("draining", 2, 0.8, 187.5, f"{WHAT}: Timed out after 187.5 s")
STALLED = Drain("stalled", 2, 0.0, 187.5, f"{WHAT}: no progress for 15 s: 2 still missing")
SETTLED = Drain("settled", 0, 3.0, 187.5)


def every_order_notified(run: Campaign) -> Campaign:
    """The same run, with each order's notification at the final read."""
    everyone = {order: ["confirmed"] for order in ORDERS}
    return dataclasses.replace(run, state=dataclasses.replace(run.state, notifications=everyone))


def judged(run: Campaign) -> Judgement:
    return judge(run, check(run.history, run.state, limits(run, 3.0, "api_gateway")))


def lost(violations: list[Violation]) -> set[str]:
    """The orders the violations call not notified."""
    return {o for v in violations if v.rule == ONE_NOTIFICATION for o in v.evidence & {*MISSING}}


def still_draining_problems(verdict: Judgement) -> list[str]:
    """What is wrong with a verdict on a run whose backlog still drained at the limit."""
    problems = []
    if lost(verdict.anomalies):
        problems.append(f"late notifications counted as lost: {verdict.anomalies}")
    if lost(verdict.draining) != set(MISSING):
        problems.append(f"the orders still draining are not named: {verdict.draining}")
    expected = "not settled: 2 notifications still draining at the limit (falling at 0.8/s"
    if not verdict.not_verified.startswith(expected):
        problems.append(f"the verdict does not say so: {verdict.not_verified!r}")
    if verdict.passed:
        problems.append("a run not checked in full passed")
    return problems


def test_the_runs_history_and_state_break_nothing_once_every_order_is_notified() -> None:
    notified = every_order_notified(campaign(SETTLED))
    assert judged(notified).passed, judged(notified)


def test_notifications_still_arriving_at_the_limit_are_draining_not_lost_and_no_pass() -> None:
    assert still_draining_problems(judged(campaign(DRAINING))) == []


def test_negative_control_treating_a_draining_backlog_as_lost_fails_that_test() -> None:
    # the verdict before: every violation an anomaly, however the settle ended
    run = campaign(DRAINING)
    violations = check(run.history, run.state, limits(run, 3.0, "api_gateway"))
    before = Judgement(violations, [], "")
    assert len(still_draining_problems(before)) == 3, still_draining_problems(before)


def test_a_stalled_backlog_leaves_lost_notifications() -> None:
    verdict = judged(campaign(STALLED))
    assert lost(verdict.anomalies) == set(MISSING), verdict.anomalies
    assert (verdict.draining, verdict.not_verified, verdict.passed) == ([], "", False)


def test_notifications_missing_after_a_completed_settle_are_lost() -> None:
    verdict = judged(campaign(SETTLED))
    assert lost(verdict.anomalies) == set(MISSING), verdict.anomalies
    assert verdict.draining == []


def test_a_draining_run_is_still_judged_on_every_other_invariant() -> None:
    # two units gone from the SKU without any order: an oversell, whatever the notifications do
    verdict = judged(campaign(DRAINING, stock_left=5))
    assert [v.rule for v in verdict.anomalies] == ["stock is conserved"], verdict.anomalies
    assert lost(verdict.draining) == set(MISSING)


def test_a_draining_settle_whose_final_read_has_every_notification_is_checked_in_full() -> None:
    caught_up = every_order_notified(campaign(DRAINING))
    assert judged(caught_up).passed, judged(caught_up)


def test_the_settle_says_a_backlog_going_down_at_the_limit_is_draining() -> None:
    backlog = itertools.count(1000, -1)
    ended = _settle_while_progressing(lambda: next(backlog), stall=15, limit=1.0, what=WHAT)
    assert ended.ended == "draining", ended
    assert ended.missing, ended
    assert ended.falling_per_second > 0, ended


def test_the_settle_says_a_backlog_that_stopped_going_down_is_stalled() -> None:
    ended = _settle_while_progressing(lambda: 5, stall=0.5, limit=30.0, what=WHAT)
    assert (ended.ended, ended.missing, ended.falling_per_second) == ("stalled", 5, 0.0), ended


def test_the_settle_says_a_drained_backlog_is_settled() -> None:
    backlog = itertools.count(3, -1)
    ended = _settle_while_progressing(lambda: next(backlog), stall=15, limit=30.0, what=WHAT)
    assert (ended.ended, ended.missing, ended.message) == ("settled", 0, None), ended


def test_negative_control_a_backlog_that_went_down_then_stuck_is_stalled_not_draining() -> None:
    # it went down for a while, then stayed: progress long ago does not make it draining
    backlog = itertools.chain([9, 8, 7], itertools.repeat(7))
    ended = _settle_while_progressing(lambda: next(backlog), stall=0.5, limit=30.0, what=WHAT)
    assert ended.ended == "stalled", ended
