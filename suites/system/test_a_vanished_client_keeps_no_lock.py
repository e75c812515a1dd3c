"""A client that vanishes inside a transaction keeps no lock for long.

Cut off from PostgreSQL (a partition, a lost node), a client gives up on its connection, but
the server hears nothing and keeps the session, idle in its transaction with its locks, for as
long as TCP lets it (hours). The testbed campaign found it on 6 Dec 2026 (seed 31980):
order-service's reconciler had locked overdue orders FOR UPDATE when its link to order-db was
cut; the server kept that session for minutes, and no retry with the orders' keys (7 s each,
then 503) nor the other replica's reconciler (SKIP LOCKED) could finish them.

So the databases' init script (manifests/base/postgres-init/app-role.psql, run here as the
database pods run it) gives each service's role an idle-in-transaction timeout, above the
longest pause a service makes inside a transaction and below the orders' pending bound, and TCP
keepalives and a TCP user timeout, so that a session whose client is gone ends, idle or with
an answer unacknowledged. These tests read those settings as
each role's session sees them, and show what the timeout does to a session's locks (shortened
to 1 s in that session); the negative controls: a role without the settings is caught, and
without the timeout the lock stays.
"""

import time
from typing import Any

import psycopg
import pytest

from suites.system.stack import DATABASE_ROLES, Stack, connect_as
from system.order_service.config import Settings as OrderSettings

ORDERS = OrderSettings()
#: The longest a service waits inside a transaction without a statement: the reconciler asks
#: inventory-service about an overdue order it holds locked, twice at most (the reservation,
#: then its release), each call within the inventory client's read timeout.
LONGEST_PAUSE_SECONDS = 2 * ORDERS.inventory_timeout_seconds
#: A keepalive probe of an idle connection, and the end of one whose answer goes
#: unacknowledged, should come well within the pending bound too.
SETTINGS = ("idle_in_transaction_session_timeout", "tcp_keepalives_idle", "tcp_user_timeout")


def seconds(conn: psycopg.Connection[Any], setting: str) -> float:
    """A time setting of the session, in seconds (0: off)."""
    row = conn.execute(
        "SELECT setting::float, unit FROM pg_settings WHERE name = %s", (setting,)
    ).fetchone()
    assert row is not None, setting
    value, unit = row
    return float(value) / 1000 if unit == "ms" else float(value)


def bound_problems(conn: psycopg.Connection[Any]) -> list[str]:
    """What is wrong with the session's bounds on a vanished client (none: nothing)."""
    problems = []
    for setting in SETTINGS:
        value = seconds(conn, setting)
        if not LONGEST_PAUSE_SECONDS < value < ORDERS.pending_bound_seconds:
            problems.append(
                f"{setting} is {value:g} s: not between the longest pause in a transaction "
                f"({LONGEST_PAUSE_SECONDS:g} s) and the pending bound "
                f"({ORDERS.pending_bound_seconds:g} s)"
            )
    return problems


@pytest.mark.parametrize("database", sorted(DATABASE_ROLES))
def test_each_services_role_bounds_how_long_a_vanished_client_holds_a_session(
    stack: Stack, database: str
) -> None:
    with connect_as(stack, DATABASE_ROLES[database], database) as conn:
        assert bound_problems(conn) == []


def test_negative_control_a_role_made_without_the_init_script_is_caught(stack: Stack) -> None:
    # arrange: a role of the test's own, as CREATE ROLE makes it
    with stack.infra.db("postgres") as admin:
        admin.execute("DROP ROLE IF EXISTS no_bounds")
        admin.execute("CREATE ROLE no_bounds LOGIN")
    try:
        # act
        with connect_as(stack, "no_bounds", "postgres") as conn:
            problems = bound_problems(conn)
    finally:
        with stack.infra.db("postgres") as admin:
            admin.execute("DROP ROLE no_bounds")
    # assert: every setting named
    assert [p.split()[0] for p in problems] == list(SETTINGS), problems


def _lock_held_past_a_pause(stack: Stack, timeout: str) -> tuple[bool, str]:
    """One session of order-service's role locks a row FOR UPDATE and pauses 2 s inside its
    transaction, with `timeout` as its idle-in-transaction timeout: whether another session can
    take the row then (NOWAIT), and what the paused session meets when it goes on."""
    role, database = DATABASE_ROLES["orders"], "orders"
    with connect_as(stack, role, database) as setup:
        setup.execute("CREATE TABLE IF NOT EXISTS vanished_client_locks (id int PRIMARY KEY)")
        setup.execute("INSERT INTO vanished_client_locks VALUES (1) ON CONFLICT DO NOTHING")
    holder = connect_as(stack, role, database)
    try:
        holder.execute(f"SET idle_in_transaction_session_timeout = '{timeout}'")
        holder.execute("BEGIN")
        holder.execute("SELECT id FROM vanished_client_locks WHERE id = 1 FOR UPDATE")
        time.sleep(2)  # the client pauses, as one cut off from the server does
        with connect_as(stack, role, database) as other:
            try:
                other.execute("SELECT id FROM vanished_client_locks WHERE id = 1 FOR UPDATE NOWAIT")
                taken = True
            except psycopg.errors.LockNotAvailable:
                taken = False
        try:
            holder.execute("COMMIT")
            went_on = "committed"
        except psycopg.Error as error:  # IdleInTransactionSessionTimeout (25P03)
            went_on = f"{type(error).__name__}: {error}"
        return taken, went_on
    finally:
        holder.close()


def test_the_server_ends_a_session_idle_in_its_transaction_and_its_locks_go_with_it(
    stack: Stack,
) -> None:
    taken, went_on = _lock_held_past_a_pause(stack, "1s")
    assert taken, "the row was still locked after the session's idle timeout"
    assert "idle-in-transaction timeout" in went_on, went_on


def test_negative_control_without_the_timeout_the_lock_stays(stack: Stack) -> None:
    taken, went_on = _lock_held_past_a_pause(stack, "0")
    assert not taken, "another session took the row while its holder was still in its transaction"
    assert went_on == "committed"
