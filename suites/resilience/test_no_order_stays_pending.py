"""Promise: no order stays `pending` past its bound, whatever the faults before left behind.

The resilience tests before this one kill databases, inventory-service and the queue while
orders are placed, and some of those requests stop half-way. order-service's reconciler finishes
each such order within PENDING_BOUND_SECONDS: confirmed when its stock is reserved, otherwise
rejected with nothing held. The check reads order-db itself, for the whole run so far.
"""

import pytest

from suites.resilience import invariants
from suites.resilience.live import record
from system.order_service.config import Settings as OrderSettings
from testbed.cluster import Testbed
from testbed.kube import Kube

pytestmark = pytest.mark.cluster

SETTINGS = OrderSettings()
#: The bound, plus two passes of the reconciler.
OVERDUE_AFTER_SECONDS = SETTINGS.pending_bound_seconds + 2 * SETTINGS.reconcile_every_seconds
OVERDUE = (
    "SELECT count(*) FROM orders WHERE status = 'pending' "
    f"AND created_at < now() - make_interval(secs => {OVERDUE_AFTER_SECONDS})"
)
#: An order pending for an hour, planted inside the check's own transaction and rolled back.
PLANTED = (
    "INSERT INTO orders (id, idempotency_key, request_hash, customer_email, items, status, "
    "created_at) VALUES (gen_random_uuid(), 'negative-control-' || gen_random_uuid(), '-', "
    "'negative-control@example.com', '[]', 'pending', now() - interval '1 hour')"
)


def overdue_pending(testbed: Testbed, kube: Kube, planted: str = "") -> int:
    """Orders pending past the bound; with `planted`, that statement runs first, in the same
    transaction, which is then rolled back."""
    sql = f"BEGIN; {planted}; {OVERDUE}; ROLLBACK;" if planted else OVERDUE
    ((count,),) = invariants.psql(testbed, kube, "order-db", "orders", sql)
    return int(count)


def test_no_order_stays_pending_past_its_bound(testbed: Testbed, kube: Kube) -> None:
    # act
    overdue = overdue_pending(testbed, kube)
    rows = invariants.psql(
        testbed,
        kube,
        "order-db",
        "orders",
        "SELECT count(*) FROM orders WHERE reason LIKE 'not completed within%'",
    )
    ((rejected_by_the_reconciler,),) = rows
    record("reconciler.rejected_overdue_orders", int(rejected_by_the_reconciler))

    # assert
    assert overdue == 0, (
        f"{overdue} orders pending for more than {OVERDUE_AFTER_SECONDS:g} s "
        "(the reconciler's bound and two of its passes)"
    )


def test_negative_control_an_order_left_pending_is_caught(testbed: Testbed, kube: Kube) -> None:
    assert overdue_pending(testbed, kube, planted=PLANTED) >= 1
