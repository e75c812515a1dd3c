"""The deadline rule's one excuse for a request never answered: a gateway pod killed while it
was in flight (the reset that ends its connections can be lost with the pod's network). Not
for a graceful deletion, and not for an answer that came late."""

from __future__ import annotations

from .checker import waited_for_gateway
from .history import Answer, FaultWindow, Operation

GATEWAY = "api-gateway"


def timed_out(invoked: float) -> Operation:
    """A request the client gave up on after 19 s, with no answer."""
    op = Operation(0, "place", "accept", "POST", "/api/orders", {}, {}, invoked)
    op.completed, op.outcome, op.error = invoked + 19.0, "unknown", "ReadTimeout: "
    return op


def window(kind: str, target: str = GATEWAY) -> FaultWindow:
    return FaultWindow(kind, target, "pod deleted", 100.0, 100.1, 106.0)


def test_a_request_lost_while_a_gateway_pod_was_killed_is_not_held_to_the_deadline() -> None:
    assert waited_for_gateway(timed_out(103.0), [window("kill")], GATEWAY) is None


def test_negative_control_a_graceful_deletion_or_another_workloads_kill_is_no_excuse() -> None:
    op = timed_out(103.0)
    assert waited_for_gateway(op, [window("term")], GATEWAY) == 19.0
    assert waited_for_gateway(op, [window("kill", "order-service")], GATEWAY) == 19.0


def test_negative_control_a_late_answer_or_a_request_after_the_kill_is_held_to_it() -> None:
    late = timed_out(103.0)
    late.error, late.answer = None, Answer(504, {"detail": "late"}, True, {})
    after = timed_out(110.0)
    assert waited_for_gateway(late, [window("kill")], GATEWAY) == 19.0
    assert waited_for_gateway(after, [window("kill")], GATEWAY) == 19.0
