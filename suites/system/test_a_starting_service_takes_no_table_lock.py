"""Promise: a pod that starts (a rollout, a restart) does not stall the orders in flight.

Each service applies its schema at start-up. DDL such as `ALTER TABLE … ADD COLUMN IF NOT
EXISTS` takes an exclusive lock on its table even when there is nothing to do; behind a
transaction that holds outbox rows (the relay's did while the queue was slow, until it claimed
its rows instead: test_a_publishing_relay_blocks_no_schema_change.py) it waits, and every
order's `finalize` queues behind it. A service whose schema is already in place must start
without any table lock.

What is checked is that the replica is Ready, which needs its schema in place (its /readyz has
a `schema` check), while another transaction still holds the rows: a start-up that waits on the
table never gets there. The time the start-up takes is not the measure: on a loaded 2-core
machine the interpreter's start and imports alone took 11 s (the service's own start-up 0.3 s),
so a bound on it failed without any lock taken.
"""

import httpx
import pytest
from psycopg.pq import TransactionStatus

from suites.system import servers
from suites.system.stack import Stack
from suites.waiting import NotYet, eventually


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

        # act: another replica starts (start_extra returns once it is Ready, within the
        # start-up bound of the local stack, and fails with its log otherwise)
        replica = stack.start_extra(package, base)
        still_held = holder.info.transaction_status
        holder.rollback()

    # assert: Ready while the rows were held all along
    assert still_held == TransactionStatus.INTRANS, still_held
    assert replica.process.proc is not None


def test_negative_control_a_start_up_that_applies_its_ddl_is_not_ready_while_rows_are_held(
    stack: Stack,
) -> None:
    # arrange: the record of order-service's DDL removed, so a new replica applies the DDL as
    # every start-up did before the record existed; and a transaction holding outbox rows
    with stack.infra.db("orders") as db:
        db.execute("DELETE FROM schema_applied")
    process, url = servers.service(stack.infra.workdir, "order_service", stack.orders.env)
    stack.extra.append(process)

    def schema_check() -> str:
        checks: dict[str, str] = httpx.get(f"{url}/readyz", timeout=2).json()["checks"]
        if "LockNotAvailable" not in checks["schema"]:
            raise NotYet(checks)
        return checks["schema"]

    with stack.infra.db("orders") as holder:
        holder.autocommit = False
        holder.execute("SELECT * FROM outbox LIMIT 1 FOR UPDATE")

        # act: the replica starts while the rows are held
        process.spawn()

        # assert: it is not Ready, and says its DDL waited on the table's lock
        schema = eventually(
            schema_check,
            timeout=30,
            interval=0.2,
            what="order-service's /readyz to say its DDL timed out on the outbox's lock",
            retry_on=(httpx.TransportError,),  # still starting
        )
        holder.rollback()
    assert "lock timeout" in schema, schema

    # once the rows are released the DDL applies (and is recorded again) and the replica is Ready
    process.wait_ready()
