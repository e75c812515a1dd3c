"""The reading of PostgreSQL's sessions that the live checks judge (suites/resilience/sessions.py),
run against the stack's real server: a session is read with its client's address and when it
began, and it counts as a gone client's exactly when no pod holds that address, or the pod
holding it was made after the session began."""

from datetime import timedelta

from suites.resilience import sessions
from suites.system.stack import DATABASE_ROLES, Stack, connect_as

APPLICATION = "sessions-reading-test"


def test_a_session_is_read_with_its_client_and_judged_by_the_pods_holding_its_address(
    stack: Stack,
) -> None:
    # arrange: a session of order-service's role, over TCP as the services connect
    role = DATABASE_ROLES["orders"]
    with connect_as(stack, role, "orders") as conn:
        conn.execute(f"SET application_name = '{APPLICATION}'")

        # act: the live checks' query, read as they read it
        with stack.infra.db("postgres") as admin:
            rows = admin.execute(sessions.SESSIONS_SQL).fetchall()
        read = sessions.parsed("order-db", "\n".join(row[0] for row in rows))

    # assert: this session, as it is
    (mine,) = [s for s in read if s.application == APPLICATION]
    assert (mine.user, mine.client, mine.database) == (role, "127.0.0.1", "order-db")
    assert mine.port > 0
    # the rule: a pod made before the session holds its address; none does; a newer one does
    made_before = {mine.client: mine.began - timedelta(minutes=1)}
    assert sessions.of_gone_clients([mine], made_before) == []
    assert sessions.of_gone_clients([mine], {}) == [mine]
    made_after = {mine.client: mine.began + timedelta(seconds=1)}
    assert sessions.of_gone_clients([mine], made_after) == [mine]
