"""Promise: a pod that starts (a rollout, a restart) does not stall the orders in flight.

Each service applies its schema at start-up. DDL such as `ALTER TABLE … ADD COLUMN IF NOT
EXISTS` takes an exclusive lock on its table even when there is nothing to do; behind a
transaction that holds outbox rows (the relay's did while the queue was slow, until it claimed
its rows instead: test_a_publishing_relay_blocks_no_schema_change.py) it waits, and every
order's `finalize` queues behind it. A service whose schema is already in place must start
without any table lock.
"""

import time

import pytest

from suites.system.stack import Stack

#: A start-up without waiting on a lock takes ~1-2 s here; blocked, it would never finish.
START_WITHIN_SECONDS = 10


@pytest.mark.parametrize(
    ("package", "database", "table"),
    [("order_service", "orders", "outbox"), ("inventory_service", "inventory", "products")],
)
def test_a_service_starts_while_a_transaction_holds_rows_of_its_tables(
    stack: Stack, package: str, database: str, table: str
) -> None:
    # arrange: a transaction holding row locks, as the relay's did while SQS answered slowly
    base = stack.orders if package == "order_service" else stack.inventory
    with stack.infra.db(database) as holder:
        holder.autocommit = False
        holder.execute(f"SELECT * FROM {table} LIMIT 1 FOR UPDATE")

        # act: another replica starts
        started = time.monotonic()
        replica = stack.start_extra(package, base)
        took = time.monotonic() - started
        holder.rollback()

    # assert
    assert took < START_WITHIN_SECONDS, f"{package} took {took:.1f} s to start"
    assert replica.process.proc is not None
