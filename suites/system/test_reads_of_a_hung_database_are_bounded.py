"""A read whose database hangs (alive, not answering) is answered 503 by the service within its
read deadline, never held until its caller gives up (the gateway's read timeout, order-service's
inventory timeout) while it keeps a connection and a request slot.

The hang: for PostgreSQL an administrator's transaction holds the read table ACCESS EXCLUSIVE,
so every read of it waits on the lock, as it would on a database that stopped answering; for
MongoDB the server is stopped (SIGSTOP: its connections stay open, unanswered). Negative control: an
instance of inventory-service whose read deadline is longer than its caller's patience is still
waiting when the caller gives up.
"""

import signal
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

import pytest

from suites.system.stack import DEADLINE_SLACK_SECONDS, Service, Stack, table_locked, timed
from system.inventory_service.config import Settings as InventorySettings
from system.notification_service.config import Settings as NotificationSettings
from system.order_service.config import Settings as OrderSettings


@contextmanager
def mongodb_stopped(stack: Stack) -> Iterator[None]:
    """The MongoDB server (FerretDB) stopped, not ended: its connections stay open, unanswered."""
    stack.infra.mongo.signal(signal.SIGSTOP)
    try:
        yield
    finally:
        stack.infra.mongo.signal(signal.SIGCONT)


Hang = Callable[[Stack], AbstractContextManager[None]]
READS: list[tuple[str, str, Hang, float]] = [
    (
        "inventory",
        "/products",
        lambda stack: table_locked(stack, "inventory", "products"),
        InventorySettings().read_deadline_seconds,
    ),
    (
        "orders",
        "/orders?limit=1",
        lambda stack: table_locked(stack, "orders", "orders"),
        OrderSettings().read_deadline_seconds,
    ),
    (
        "notifications",
        "/notifications?limit=1",
        mongodb_stopped,
        NotificationSettings().read_deadline_seconds,
    ),
]


@pytest.mark.parametrize(
    ("name", "path", "hang", "deadline"),
    READS,
    ids=["inventory-service", "order-service", "notification-service"],
)
def test_a_read_of_a_hung_database_is_answered_503_within_the_read_deadline(
    stack: Stack, name: str, path: str, hang: Hang, deadline: float
) -> None:
    # arrange: the service as deployed (its default deadline)
    service: Service = getattr(stack, name)

    # act: a read while its database hangs, by a caller more patient than the deadline
    with hang(stack):
        answer, took = timed("GET", f"{service.url}{path}", deadline + DEADLINE_SLACK_SECONDS + 2)

    # assert: a prompt 503 that says why and when to come back
    assert answer is not None, f"no answer in {took:.1f} s (read deadline {deadline:g} s)"
    assert answer.status_code == 503, answer.text
    assert "did not answer within" in answer.json()["detail"], answer.text
    assert answer.headers["Retry-After"] == "1"
    assert deadline <= took <= deadline + DEADLINE_SLACK_SECONDS, f"answered after {took:.2f} s"


def test_negative_control_a_read_deadline_past_the_callers_patience_leaves_it_waiting(
    stack: Stack,
) -> None:
    # arrange: inventory-service with a deadline longer than order-service waits for it
    patience = OrderSettings().inventory_timeout_seconds
    slow = stack.start_extra(
        "inventory_service", stack.inventory, {"READ_DEADLINE_SECONDS": str(patience * 10)}
    )

    # act
    with table_locked(stack, "inventory", "products"):
        answer, took = timed("GET", f"{slow.url}/products", patience)

    # assert: the caller gave up first
    assert answer is None, f"answered {answer.status_code} after {took:.1f} s"
