"""order-service and inventory-service log in to PostgreSQL as their own roles, made by the
databases' init script (manifests/base/postgres-init, run here by the stack as the database
pods run it): no superuser, and nothing beyond their own database.

A role is shown by its running service's sessions (pg_stat_activity, application_name
demo-micro); the negative controls connect as the role and try what it must not do."""

import psycopg
import pytest

from suites.system.stack import DATABASE_ROLES, Stack, connect_as

#: The database of each role and the other service's database.
OTHER_DATABASE = {"orders": "inventory", "inventory": "orders"}


@pytest.mark.parametrize("database", sorted(DATABASE_ROLES))
def test_each_service_is_connected_as_its_own_role_which_is_no_superuser(
    stack: Stack, database: str
) -> None:
    # arrange: the service's pool holds at least one session once it is Ready
    role = DATABASE_ROLES[database]
    # act: who the running service's sessions are, and what those roles may do
    with stack.infra.db("postgres") as admin:
        users = admin.execute(
            "SELECT DISTINCT usename FROM pg_stat_activity"
            " WHERE datname = %s AND application_name = 'demo-micro'",
            (database,),
        ).fetchall()
        attributes = admin.execute(
            "SELECT rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls"
            " FROM pg_roles WHERE rolname = %s",
            (role,),
        ).fetchone()
    # assert
    assert users == [(role,)], f"the service's sessions in {database} are {users}, not {role}'s"
    assert attributes == (False, False, False, False, False), (
        f"{role} (superuser, createrole, createdb, replication, bypassrls) = {attributes}"
    )


@pytest.mark.parametrize("database", sorted(DATABASE_ROLES))
def test_a_services_role_is_not_a_superuser_on_its_own_connection(
    stack: Stack, database: str
) -> None:
    role = DATABASE_ROLES[database]
    with connect_as(stack, role, database) as conn:
        row = conn.execute(
            "SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
        owner = conn.execute(
            "SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'public'"
        ).fetchone()
    assert row == (role, False)
    assert owner == (role,), f"database {database}'s public schema is owned by {owner}"


@pytest.mark.parametrize("database", sorted(DATABASE_ROLES))
def test_a_services_role_cannot_connect_to_the_other_services_database(
    stack: Stack, database: str
) -> None:
    role, other = DATABASE_ROLES[database], OTHER_DATABASE[database]
    with pytest.raises(psycopg.OperationalError, match=f'permission denied for database "?{other}'):
        connect_as(stack, role, other).close()


@pytest.mark.parametrize(
    "statement",
    [
        "CREATE ROLE intruder LOGIN SUPERUSER",
        "CREATE DATABASE intruder",
        "DROP DATABASE {other}",
        "ALTER ROLE {role} SUPERUSER",
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'demo'",
    ],
)
@pytest.mark.parametrize("database", sorted(DATABASE_ROLES))
def test_a_services_role_cannot_act_as_the_administrator(
    stack: Stack, database: str, statement: str
) -> None:
    role, other = DATABASE_ROLES[database], OTHER_DATABASE[database]
    with (
        connect_as(stack, role, database) as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        conn.execute(statement.format(role=role, other=other))
