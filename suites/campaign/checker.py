"""The campaign's checker: pure functions from a history and a final state to violations.

Each rule is one promise, named by its `@promise(...)`; it yields a sentence for each thing
that broke it, with the order ids, keys, tags and SKUs concerned as evidence (which shortens a
failing history to what matters). `check` runs them all.
"""

from __future__ import annotations

import functools
import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from system.common.request_context import REQUEST_ID_HEADER

from .history import FaultWindow, History, Operation
from .state import State

#: Answers that say "not now, retry": excused inside a fault window.
RETRYABLE = (503, 504)
#: Every generated e-mail address starts with its body's tag (generator.Generator._tag).
TAG = re.compile(r"s\d+n\d+")


@dataclass(frozen=True)
class Limits:
    #: Seconds an order may stay pending (PENDING_BOUND_SECONDS and the reconciler's period).
    pending_bound: float
    #: Seconds after a fault window's end in which a 503/504 is still excused (pools
    #: reconnecting, the gateway's Redis cool-down).
    fault_grace: float
    #: Seconds within which the gateway answers every request, whatever hangs behind it.
    answer_deadline: float
    #: The gateway's process: while it is paused itself, nobody can answer.
    gateway: str = "api_gateway"


@dataclass(frozen=True)
class Violation:
    rule: str
    sentence: str
    evidence: frozenset[str] = frozenset()

    def __str__(self) -> str:
        return f"{self.rule}: {self.sentence}"


Rule = Callable[[History, State, Limits], list[Violation]]
#: What a rule's body yields: a sentence and its evidence (None entries are dropped).
Finding = tuple[str, Iterable[str | None]]


def promise(name: str) -> Callable[[Callable[[History, State, Limits], Iterator[Finding]]], Rule]:
    """Make a generator of findings a rule whose violations carry the promise's name."""

    def wrap(body: Callable[[History, State, Limits], Iterator[Finding]]) -> Rule:
        @functools.wraps(body)
        def rule(history: History, state: State, limits: Limits) -> list[Violation]:
            return [
                Violation(name, sentence, frozenset(e for e in evidence if e))
                for sentence, evidence in body(history, state, limits)
            ]

        return rule

    return wrap


def tag_of(email: str) -> str | None:
    found = TAG.match(email)
    return found.group(0) if found else None


def _items(body: Any) -> tuple[tuple[str, int], ...] | None:
    try:
        return tuple((str(i["sku"]), int(i["quantity"])) for i in body["items"])
    except (KeyError, TypeError, ValueError):
        return None


def _detail(op: Operation) -> str:
    if op.answer is None:
        return f"no answer ({op.error})"
    body = op.answer.body
    detail = body.get("detail") if isinstance(body, dict) else body
    return f"{op.answer.status} {json.dumps(detail, ensure_ascii=True)[:200]}"


def _acknowledged(history: History) -> dict[str, Operation]:
    """Order id -> the first operation answered 201 with it."""
    first: dict[str, Operation] = {}
    for op in history.placements:
        if op.status == 201 and op.order_id and op.order_id not in first:
            first[op.order_id] = op
    return first


def uncertain(op: Operation) -> bool:
    """No answer, or a 5xx: the order may or may not exist."""
    return op.outcome == "unknown" or (op.answer is not None and op.answer.status >= 500)


def key_of(op: Operation) -> str | None:
    """The operation's Idempotency-Key, or the one the gateway says it used for it."""
    if op.key:
        return op.key
    return op.answer.headers.get("idempotency-key") if op.answer else None


def customer_of(op: Operation) -> str | None:
    """The customer an order request is for (its customer_email), if it names one."""
    email = op.body.get("customer_email") if isinstance(op.body, dict) else None
    return email if isinstance(email, str) else None


def scope_of(op: Operation) -> tuple[str | None, str] | None:
    """What an Idempotency-Key names: the customer's key (a key is the customer's own)."""
    key = key_of(op)
    return (customer_of(op), key) if key else None


def _excused(op: Operation, windows: list[FaultWindow], grace: float) -> bool:
    done = op.completed if op.completed is not None else op.invoked
    return any(op.invoked <= w.end + grace and done >= w.start for w in windows)


def _pending_within_bound(order_id: str, state: State, limits: Limits) -> bool:
    order = state.orders.get(order_id)
    return order is not None and order.status == "pending" and order.age <= limits.pending_bound


# -- the rules ------------------------------------------------------------------------------


@promise("acknowledged orders exist")
def acknowledged_orders_exist(history: History, state: State, _: Limits) -> Iterator[Finding]:
    """Every acknowledged (201) order exists, for the customer it was acknowledged to, with the
    acknowledged status and items, in order-db and in what the API lists."""
    for order_id, op in _acknowledged(history).items():
        said, row = op.order_status, state.orders.get(order_id)
        where = f"order {order_id} (op #{op.index}, key {op.key}, tag {op.tag})"
        evidence = [order_id, op.key, op.tag]
        if said not in ("confirmed", "rejected"):
            yield f"{where} was acknowledged as {said}", evidence
        if row is None:
            yield f"{where} was acknowledged {said} and is not in order-db", evidence
            continue
        if row.status != said:
            yield f"{where} was acknowledged {said} and order-db has it {row.status}", evidence
        if customer_of(op) != row.email:
            yield (
                f"{where} was acknowledged to {customer_of(op)}; order-db has it for {row.email}",
                evidence,
            )
        if _items(op.body) != row.items:
            asked = _items(op.body)
            yield f"{where}: order-db holds {row.items}, the request asked for {asked}", evidence
        if state.api_orders is not None and state.api_orders.get(order_id) != said:
            listed = state.api_orders.get(order_id, "nothing")
            yield f"{where} was acknowledged {said} and the API lists {listed}", evidence


@promise("reads agree with acknowledgements")
def reads_agree(history: History, state: State, _: Limits) -> Iterator[Finding]:
    """A read invoked after an acknowledgement shows the acknowledged status."""
    acknowledged = _acknowledged(history)
    for op in history.operations:
        if op.kind != "get_order" or op.answer is None or op.status in RETRYABLE:
            continue
        order_id = op.path.rsplit("/", 1)[-1]
        ack = acknowledged.get(order_id)
        if ack is None or ack.completed is None or ack.completed > op.invoked:
            continue
        read = op.order_status if op.status == 200 else f"a {op.status}"
        if read != ack.order_status:
            yield (
                f"op #{op.index} read order {order_id} as {read} after op #{ack.index} "
                f"acknowledged it {ack.order_status}",
                [order_id],
            )


@promise("one key, one order")
def idempotency_holds(history: History, state: State, _: Limits) -> Iterator[Finding]:
    """Every 201 of a customer's key names the same order for the same body, a retry with the
    body that was placed never gets 409, and no order is acknowledged to two customers. A key is
    the customer's own: another customer's same key is a request of hers."""
    customers: dict[str, set[str]] = defaultdict(set)
    for op in history.placements:
        if op.status == 201 and op.order_id:
            customers[str(op.order_id)].add(str(customer_of(op)))
    for order_id, who in customers.items():
        if len(who) > 1:
            yield (
                f"order {order_id} was acknowledged to {len(who)} customers: {sorted(who)}",
                [order_id],
            )
    by_key: dict[tuple[str | None, str], list[Operation]] = defaultdict(list)
    for op in history.placements:
        if op.key:
            by_key[(customer_of(op), op.key)].append(op)
    for (_customer, key), ops in by_key.items():
        acked = [op for op in ops if op.status == 201]
        ids = sorted({str(op.order_id) for op in acked})
        if len(ids) > 1:
            yield f"key {key} was answered with {len(ids)} orders: {ids}", [key, *ids]
        bodies = {json.dumps(op.body, sort_keys=True) for op in acked}
        if len(bodies) > 1:
            indexes = [op.index for op in acked]
            yield f"key {key} acknowledged {len(bodies)} different bodies (ops {indexes})", [key]
        for op in ops:
            placed = [a for a in acked if a.body == op.body]
            if op.status == 409 and placed:
                yield (
                    f"op #{op.index} retried key {key} with the body op #{placed[0].index} "
                    f"placed and got {_detail(op)}",
                    [key],
                )


@promise("one request, at most one order")
def one_order_per_request(history: History, state: State, _: Limits) -> Iterator[Finding]:
    """A body (its tag) leaves at most one order, and a refused one no confirmed order."""
    by_tag: dict[str, list[str]] = defaultdict(list)
    for row in state.orders.values():
        tag = tag_of(row.email)
        if tag:
            by_tag[tag].append(row.id)
    for tag, ids in by_tag.items():
        if len(ids) > 1:
            yield f"the request tagged {tag} left {len(ids)} orders: {sorted(ids)}", [tag, *ids]
    for op in history.placements:
        if op.expect != "refuse" or op.tag is None or op.answer is None:
            continue
        if 400 <= op.answer.status < 500:
            for order_id in by_tag.get(op.tag, []):
                if state.orders[order_id].status == "confirmed":
                    yield (
                        f"op #{op.index} [{op.shape}] was refused ({_detail(op)}) and its "
                        f"order {order_id} is confirmed",
                        [op.tag, order_id],
                    )


@promise("every input gets its designed answer")
def answers_follow_the_contract(history: History, state: State, _: Limits) -> Iterator[Finding]:
    """Valid orders are placed (201), invalid ones refused (4xx), and a per-SKU total above the
    reservation cap is refused or rejected, never confirmed. An invalid order a fault left
    pending (its key got a 5xx or no answer before) may be rejected by the reconciler past the
    bound, and a retry then gets that order: 201 rejected (docs/services.md, the reconciler).
    (A 5xx: `no_unexcused_5xx`.)"""
    left_pending: dict[tuple[str | None, str], float] = {}
    for op in history.placements:
        scope = scope_of(op)
        if op.key and scope and uncertain(op):
            left_pending.setdefault(scope, op.invoked)
    for op in history.placements:
        if op.answer is None or op.answer.status >= 500:
            continue
        status, got = op.answer.status, _detail(op)
        evidence = [op.key, op.tag, op.order_id]
        what = f"op #{op.index} [{op.shape}]"
        if op.expect == "accept" and status not in (201, 409):
            yield f"{what}, a valid order, got {got}", evidence
        elif op.expect == "conflict" and status not in (201, 409):
            yield f"{what} got {got}", evidence
        elif op.expect == "refuse" and status < 400:
            scope = scope_of(op)
            pending_before = scope in left_pending and left_pending[scope] < op.invoked
            if pending_before and op.order_status == "rejected":
                continue
            yield f"{what}, an invalid request, was accepted: {status} {op.order_status}", evidence
        elif op.expect == "refuse_or_reject" and status < 400 and op.order_status != "rejected":
            yield f"{what} was {op.order_status} (designed: 422 or 201 rejected)", evidence


@promise("no 5xx but a 503/504 during a fault")
def no_unexcused_5xx(history: History, state: State, limits: Limits) -> Iterator[Finding]:
    """No 5xx but a 503/504, and those only during a fault window (or its grace). One sentence
    per key (or per keyless operation): its retries repeat the same answer."""
    first: dict[str, tuple[Operation, str]] = {}
    repeats: dict[str, int] = defaultdict(int)
    for op in history.operations:
        if op.answer is None or op.answer.status < 500:
            continue
        if op.answer.status not in RETRYABLE:
            why = ""
        elif not _excused(op, history.faults, limits.fault_grace):
            why = f" with no fault within {limits.fault_grace:.0f} s"
        else:
            continue
        group = op.key or f"#{op.index}"
        if group in first:
            repeats[group] += 1
        else:
            first[group] = (op, why)
    for group, (op, why) in first.items():
        more = f" (and {repeats[group]} more with this key)" if repeats[group] else ""
        what = f"op #{op.index} {op.method} {op.path} [{op.shape}] at {op.invoked:.2f} s"
        yield f"{what} got {_detail(op)}{why}{more}", [op.key, op.tag, f"#{op.index}"]


def _hung_gateway(op: Operation, windows: list[FaultWindow], gateway: str) -> float:
    """Seconds of the operation spent while the gateway itself was paused (or coming back)."""
    done = op.completed if op.completed is not None else op.invoked
    return sum(
        max(0.0, min(done, w.end) - max(op.invoked, w.start))
        for w in windows
        if w.kind == "pause" and w.target == gateway
    )


#: How httpx names a request that got no answer in time (the client gave up waiting).
_CLIENT_TIMEOUTS = ("ReadTimeout", "WriteTimeout")


def _lost_with_a_killed_gateway(op: Operation, windows: list[FaultWindow], gateway: str) -> bool:
    """The client gave up on an operation in flight while a gateway pod was killed. A pod
    deleted on the testbed takes its network with it: the reset that ends its connections can
    be lost with it, and the client hears nothing until its own timeout (6 of 33 gateway kills
    in the 30-min testbed run of 4 Dec 2026; a crashed machine does the same). A graceful
    deletion (`term`) is no excuse."""
    if op.answer is not None or op.completed is None:
        return False
    return any(
        w.kind == "kill" and w.target == gateway and op.invoked <= w.end and op.completed >= w.start
        for w in windows
    )


def waited_for_gateway(op: Operation, windows: list[FaultWindow], gateway: str) -> float | None:
    """Seconds the operation waited for the gateway's answer, less the time the gateway itself
    was paused; None when it was refused or dropped (a prompt answer of its kind), or lost with
    a killed gateway pod."""
    if op.completed is None:
        return None
    if op.answer is None and not (op.error or "").startswith(_CLIENT_TIMEOUTS):
        return None
    if _lost_with_a_killed_gateway(op, windows, gateway):
        return None
    return op.completed - op.invoked - _hung_gateway(op, windows, gateway)


@promise("every request is answered within the gateway's deadline")
def answered_in_time(history: History, state: State, limits: Limits) -> Iterator[Finding]:
    """Whatever hangs behind it (a paused database, queue, cache or service), the gateway
    answers within its deadline, with a 503/504 if nothing else: the time an operation waited,
    less the time the gateway itself was paused, is at most `answer_deadline`. A request
    refused or dropped (a killed gateway) was answered promptly in its way."""
    for op in history.operations:
        waited = waited_for_gateway(op, history.faults, limits.gateway)
        if waited is not None and waited > limits.answer_deadline:
            got = _detail(op) if op.answer else f"no answer ({op.error})"
            yield (
                f"op #{op.index} {op.method} {op.path} [{op.shape}] at {op.invoked:.2f} s "
                f"waited {waited:.1f} s (deadline {limits.answer_deadline:.0f} s) for {got}",
                [op.key, op.tag, f"#{op.index}"],
            )


@promise("every error has a JSON body")
def errors_are_json(history: History, state: State, _: Limits) -> Iterator[Finding]:
    """Every 4xx/5xx answer is a JSON object with a `detail`."""
    for op in history.operations:
        answer = op.answer
        if answer is None or answer.status < 400:
            continue
        if not (answer.is_json and isinstance(answer.body, dict) and "detail" in answer.body):
            yield (
                f"op #{op.index} {op.method} {op.path} got {answer.status} with body "
                f"{str(answer.body)[:200]!r}",
                [f"#{op.index}"],
            )


@promise("every answer carries its request id")
def answers_carry_the_request_id(history: History, state: State, _: Limits) -> Iterator[Finding]:
    """Every answer, errors and refusals included, echoes the X-Request-ID it was sent with:
    the id under which the services logged the request, to trace it by (`traces.py`)."""
    for op in history.operations:
        if op.answer is None or not op.request_id:
            continue
        echoed = op.answer.headers.get(REQUEST_ID_HEADER.lower())
        if echoed != op.request_id:
            yield (
                f"op #{op.index} {op.method} {op.path} sent {REQUEST_ID_HEADER} "
                f"{op.request_id} and got {op.answer.status} with {echoed!r}",
                [f"#{op.index}"],
            )


@promise("uncertain orders are resolved")
def uncertain_orders_resolved(history: History, state: State, _: Limits) -> Iterator[Finding]:
    """An order placement that timed out or got a 5xx is settled one way or the other: by its
    customer's key (a later POST with it answered below 500), or, without a key, by the state
    (its tag's order is final, or there is none). One sentence per key."""
    # Indexed once: a 30-min campaign has ~80,000 placements, and a scan of them all for each
    # uncertain one kept the checker busy past the test's timeout (3 Dec 2026).
    placements = history.placements
    with_key: dict[tuple[str | None, str], list[Operation]] = defaultdict(list)
    for op in placements:
        scope = scope_of(op)
        if scope:
            with_key[scope].append(op)
    pending_by_tag: dict[str | None, list[str]] = defaultdict(list)
    for row in state.orders.values():
        if row.status == "pending":
            pending_by_tag[tag_of(row.email)].append(row.id)
    unsettled: dict[tuple[str | None, str], list[Operation]] = defaultdict(list)
    for op in placements:
        if op.kind != "place" or not uncertain(op):
            continue
        scope = scope_of(op)
        if scope:
            later = [o for o in with_key[scope] if o.invoked > op.invoked]
            if not any(o.answer is not None and o.answer.status < 500 for o in later):
                unsettled[scope].append(op)
            continue
        pending = pending_by_tag.get(op.tag, [])
        if pending:
            yield (
                f"op #{op.index} [{op.shape}] ({_detail(op)}) had no key, and its order "
                f"{pending[0]} is still pending",
                [op.tag, f"#{op.index}", *pending],
            )
    for scope, ops in unsettled.items():
        key, last = scope[1], with_key[scope][-1]
        yield (
            f"key {key} [{ops[0].shape}]: op #{ops[0].index} got {_detail(ops[0])}, and no POST "
            f"with the key got an answer below 500 after it ({len(ops)} uncertain, last answer "
            f"{_detail(last)})",
            [key, ops[0].tag, *(f"#{op.index}" for op in ops)],
        )


@promise("a bad request gets a 4xx and changes nothing")
def bad_requests_change_nothing(history: History, state: State, _: Limits) -> Iterator[Finding]:
    """A request the gateway's schema forbids is refused by the gateway itself: a 4xx (never a
    5xx, not even during a fault: no backend is asked), and no order comes of it (so no
    reservation, stock change or notification: the other rules account for every order's).
    Every order in order-db was asked for by a placement (its tag), so an order from a bad
    request whose tag the breakage removed shows too. (The JSON body: `errors_are_json`.)"""
    placed = {op.tag for op in history.placements if op.tag}
    bad_tags: dict[str, Operation] = {}
    for op in history.operations:
        if op.kind != "bad_request":
            continue
        if op.tag and op.tag not in placed:
            bad_tags.setdefault(op.tag, op)
        if op.answer is not None and not 400 <= op.answer.status < 500:
            yield (
                f"op #{op.index} {op.method} {op.path} [{op.shape}] got {_detail(op)}",
                [op.key, op.tag, f"#{op.index}"],
            )
    for row in state.orders.values():
        tag = tag_of(row.email)
        if tag in bad_tags:
            op = bad_tags[tag]
            yield (
                f"op #{op.index} [{op.shape}] left order {row.id} ({row.status})",
                [tag, row.id, f"#{op.index}"],
            )
        elif tag not in placed:
            yield (
                f"order {row.id} ({row.status}, e-mail {row.email[:60]!r}) was asked for by no "
                "order the campaign placed",
                [row.id, row.key],
            )


@promise("no order pending past the bound")
def no_order_pending_past_the_bound(
    history: History, state: State, limits: Limits
) -> Iterator[Finding]:
    """The reconciler finishes or rejects every order pending longer than the bound."""
    for row in sorted(state.orders.values(), key=lambda r: -r.age):
        if row.status == "pending" and row.age > limits.pending_bound:
            yield (
                f"order {row.id} (key {row.key}) has been pending for {row.age:.0f} s "
                f"(bound {limits.pending_bound:.0f} s)",
                [row.id, row.key],
            )


@promise("stock is conserved")
def stock_is_conserved(history: History, state: State, limits: Limits) -> Iterator[Finding]:
    """Per SKU: initial stock = current stock + units of confirmed orders (+ units reserved for
    orders still pending within the bound). A rejected, missing or over-bound order holds
    nothing: a reservation without a confirmed order past the bound is a leak."""
    for held in state.reservations.values():
        if held.status != "reserved" or held.age <= limits.pending_bound:
            continue
        order = state.orders.get(held.key)
        if order is None or order.status != "confirmed":
            why = f"its order is {order.status}" if order else "it has no order"
            yield (
                f"reservation {held.key} holds {list(held.items)} for {held.age:.0f} s and {why}",
                [held.key],
            )
    for order in state.orders.values():
        reservation = state.reservations.get(order.id)
        if order.status == "confirmed" and (
            reservation is None or reservation.status != "reserved"
        ):
            yield (
                f"confirmed order {order.id} holds no stock "
                f"({reservation.status if reservation else 'no reservation'})",
                [order.id],
            )
    for sku, initial in sorted(state.initial_stock.items()):
        current = state.stock.get(sku)
        if current is None:
            yield f"{sku} is gone from inventory-db", [sku]
            continue
        confirmed = sum(
            state.units(o.items, sku) for o in state.orders.values() if o.status == "confirmed"
        )
        in_flight = sum(
            state.units(r.items, sku)
            for r in state.reservations.values()
            if r.status == "reserved" and _pending_within_bound(r.key, state, limits)
        )
        missing = initial - current - confirmed - in_flight
        if missing:
            yield (
                f"{sku}: started with {initial}, has {current}, confirmed orders hold "
                f"{confirmed}, pending ones within the bound {in_flight}: {abs(missing)} units "
                f"{'unaccounted for' if missing > 0 else 'too many'}",
                [sku],
            )


#: The promise a confirmed order without its notification breaks (once the settle is over).
ONE_NOTIFICATION = "exactly one notification per confirmed order"


def unnotified(state: State) -> set[str]:
    """The confirmed orders with no notification in the final state."""
    return {
        order.id
        for order in state.orders.values()
        if order.status == "confirmed" and not state.notifications.get(order.id)
    }


@promise(ONE_NOTIFICATION)
def one_notification_per_order(history: History, state: State, _: Limits) -> Iterator[Finding]:
    """Exactly one notification per confirmed order (counted again after a dwell, so a late
    duplicate shows), at most one per rejected order, none for an order that does not exist,
    and each says its order's status."""
    for order in state.orders.values():
        statuses = state.notifications.get(order.id, [])
        count, first = len(statuses), state.first_count.get(order.id, 0)
        late = f" ({first} at the first count: a late duplicate)" if 0 < first < count else ""
        evidence = [order.id, order.key]
        if order.status == "confirmed" and count != 1:
            queue = ", ".join(
                f"{k.removeprefix('Approximate')} {v}" for k, v in state.queue.items()
            )
            events = f" (its events: {', '.join(state.events.get(order.id, ['none']))}; {queue})"
            yield f"confirmed order {order.id} has {count} notifications{late}{events}", evidence
        elif order.status == "rejected" and count > 1:
            yield f"rejected order {order.id} has {count} notifications{late}", evidence
        if order.status != "pending" and any(s != order.status for s in statuses):
            yield f"order {order.id} is {order.status}, its notifications say {statuses}", evidence
    for order_id in sorted(set(state.notifications) - set(state.orders)):
        yield f"a notification for order {order_id}, which order-db does not have", [order_id]


@promise("every process comes back")
def processes_came_back(history: History, state: State, _: Limits) -> Iterator[Finding]:
    """Every process the nemesis stopped was started again and became ready."""
    for error in history.nemesis_errors:
        yield error, []


RULES: tuple[Rule, ...] = (
    acknowledged_orders_exist,
    reads_agree,
    idempotency_holds,
    one_order_per_request,
    answers_follow_the_contract,
    no_unexcused_5xx,
    answered_in_time,
    errors_are_json,
    answers_carry_the_request_id,
    uncertain_orders_resolved,
    bad_requests_change_nothing,
    no_order_pending_past_the_bound,
    stock_is_conserved,
    one_notification_per_order,
    processes_came_back,
)


def check(history: History, state: State, limits: Limits) -> list[Violation]:
    """Every rule's violations, in the order of RULES."""
    return [violation for rule in RULES for violation in rule(history, state, limits)]


def about(violations: Iterable[Violation], needle: str, rule: str | None = None) -> list[str]:
    """The violations (as text) that name `needle` (as a whole word: key campaign-1-14 is not
    campaign-1-140), optionally only those of one promise."""
    word = re.compile(rf"(?<![\w-]){re.escape(needle)}(?![\w-])")
    return [
        str(v)
        for v in violations
        if (needle in v.evidence or word.search(v.sentence)) and rule in (None, v.rule)
    ]
