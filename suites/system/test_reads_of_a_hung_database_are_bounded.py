"""A read whose database hangs (alive, not answering) is answered 503 by the service within its
read deadline, never held until its caller gives up (the gateway's read timeout, order-service's
inventory timeout) while it keeps a connection and a request slot.

The hang: an administrator's transaction holds the read table ACCESS EXCLUSIVE, so every read of
it waits on the lock, as it would on a database that stopped answering. Negative control: an
instance of inventory-service whose read deadline is longer than its caller's patience is still
waiting when the caller gives up.
"""

import time

import httpx
import pytest

from suites.system.stack import Service, Stack
from system.inventory_service.config import Settings as InventorySettings
from system.order_service.config import Settings as OrderSettings

#: The deadline's answer through the event loop and HTTP, on a busy 2-core machine.
SLACK_SECONDS = 1.0


def read_while_locked(
    stack: Stack, service: Service, database: str, table: str, path: str, patience: float
) -> tuple[httpx.Response | None, float]:
    """GET `path` of the service while `table` is locked; the answer (None: none within
    `patience`) and how long it took."""
    with stack.infra.db(database) as holder:
        holder.autocommit = False
        holder.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
        started = time.monotonic()
        try:
            answer: httpx.Response | None = httpx.get(f"{service.url}{path}", timeout=patience)
        except httpx.TimeoutException:
            answer = None
        took = time.monotonic() - started
        holder.rollback()
    return answer, took


@pytest.mark.parametrize(
    ("name", "database", "table", "path", "deadline"),
    [
        (
            "inventory",
            "inventory",
            "products",
            "/products",
            InventorySettings().read_deadline_seconds,
        ),
        ("orders", "orders", "orders", "/orders?limit=1", OrderSettings().read_deadline_seconds),
    ],
    ids=["inventory-service", "order-service"],
)
def test_a_read_of_a_hung_database_is_answered_503_within_the_read_deadline(
    stack: Stack, name: str, database: str, table: str, path: str, deadline: float
) -> None:
    # arrange: the service as deployed (its default deadline)
    service: Service = getattr(stack, name)

    # act: a read while its table is locked, by a caller more patient than the deadline
    answer, took = read_while_locked(
        stack, service, database, table, path, patience=deadline + SLACK_SECONDS + 2
    )

    # assert: a prompt 503 that says why and when to come back
    assert answer is not None, f"no answer in {took:.1f} s (read deadline {deadline:g} s)"
    assert answer.status_code == 503, answer.text
    assert "did not answer within" in answer.json()["detail"], answer.text
    assert answer.headers["Retry-After"] == "1"
    assert deadline <= took <= deadline + SLACK_SECONDS, f"answered after {took:.2f} s"


def test_negative_control_a_read_deadline_past_the_callers_patience_leaves_it_waiting(
    stack: Stack,
) -> None:
    # arrange: inventory-service with a deadline longer than order-service waits for it
    patience = OrderSettings().inventory_timeout_seconds
    slow = stack.start_extra(
        "inventory_service", stack.inventory, {"READ_DEADLINE_SECONDS": str(patience * 10)}
    )

    # act
    answer, took = read_while_locked(stack, slow, "inventory", "products", "/products", patience)

    # assert: the caller gave up first
    assert answer is None, f"answered {answer.status_code} after {took:.1f} s"
