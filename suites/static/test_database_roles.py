"""The services log in to their databases as their own roles, never as the administrator."""

from suites.static.checks.database_roles import (
    administrator_credentials_violations,
    role_creation_violations,
)
from suites.static.controls import assert_caught, assert_holds
from suites.static.manifest import Rendered, main_container


def test_no_service_takes_the_database_administrators_credentials(rendered: Rendered) -> None:
    assert_holds(administrator_credentials_violations(rendered))


def test_each_database_creates_its_services_own_role_at_init_and_each_start(
    rendered: Rendered,
) -> None:
    assert_holds(role_creation_violations(rendered))


def test_a_service_given_the_administrators_secret_is_caught(broken: Rendered) -> None:
    # arrange: order-service given postgres-secret again, as before its own role
    container = main_container(broken.one("Deployment", "order-service"))
    container["envFrom"].append({"secretRef": {"name": "postgres-secret"}})
    # act / assert
    assert_caught(
        administrator_credentials_violations(broken),
        "Deployment/order-service container order-service takes the database administrator's "
        "credentials (Secret/postgres-secret)",
    )


def test_a_service_given_the_administrators_password_by_key_is_caught(broken: Rendered) -> None:
    # arrange: inventory-service's password taken from the administrator's key
    container = main_container(broken.one("Deployment", "inventory-service"))
    container.setdefault("env", []).append(
        {
            "name": "INVENTORY_DB_PASSWORD",
            "valueFrom": {"secretKeyRef": {"name": "postgres-secret", "key": "POSTGRES_PASSWORD"}},
        }
    )
    # act / assert
    assert_caught(
        administrator_credentials_violations(broken),
        "Deployment/inventory-service container inventory-service takes the database "
        "administrator's credentials (Secret/postgres-secret)",
    )


def test_a_database_without_the_role_script_is_caught(broken: Rendered) -> None:
    # arrange: order-db without its init volume
    container = main_container(broken.one("StatefulSet", "order-db"))
    container["volumeMounts"] = [
        m for m in container["volumeMounts"] if m["mountPath"] != "/docker-entrypoint-initdb.d"
    ]
    # act / assert
    assert_caught(
        role_creation_violations(broken),
        "StatefulSet/order-db container postgres does not mount ConfigMap/postgres-init",
    )


def test_a_role_made_from_the_administrators_secret_is_caught(broken: Rendered) -> None:
    # arrange: inventory-db creating the service's role as the administrator
    container = main_container(broken.one("StatefulSet", "inventory-db"))
    for variable in container["env"]:
        if variable["name"] == "APP_DB_USER":
            variable["valueFrom"]["secretKeyRef"] = {
                "name": "postgres-secret",
                "key": "POSTGRES_USER",
            }
    # act / assert
    assert_caught(
        role_creation_violations(broken),
        "StatefulSet/inventory-db container postgres takes its service's role from the "
        "administrator's Secret",
    )


def test_a_database_that_never_makes_the_role_after_its_first_init_is_caught(
    broken: Rendered,
) -> None:
    # arrange: order-db without its postStart hook (an older data directory keeps no role)
    del main_container(broken.one("StatefulSet", "order-db"))["lifecycle"]["postStart"]
    # act / assert
    assert_caught(
        role_creation_violations(broken),
        "StatefulSet/order-db container postgres does not run app-role.sh after each start",
    )


def test_notification_service_given_mongodbs_root_secret_is_caught(broken: Rendered) -> None:
    # arrange: notification-service given mongodb-secret again, as before its own user
    container = main_container(broken.one("Deployment", "notification-service"))
    container["envFrom"].append({"secretRef": {"name": "mongodb-secret"}})
    # act / assert
    assert_caught(
        administrator_credentials_violations(broken),
        "Deployment/notification-service container notification-service takes the database "
        "administrator's credentials (Secret/mongodb-secret)",
    )


def test_mongodb_making_the_services_user_from_the_root_secret_is_caught(
    broken: Rendered,
) -> None:
    # arrange: notification-db making the service's user with the root user's password
    container = main_container(broken.one("StatefulSet", "notification-db"))
    for variable in container["env"]:
        if variable["name"] == "APP_DB_PASSWORD":
            variable["valueFrom"]["secretKeyRef"] = {
                "name": "mongodb-secret",
                "key": "MONGODB_PASSWORD",
            }
    # act / assert
    assert_caught(
        role_creation_violations(broken),
        "StatefulSet/notification-db container mongodb takes its service's role from the "
        "administrator's Secret",
    )


def test_mongodb_that_never_makes_the_user_after_its_first_init_is_caught(
    broken: Rendered,
) -> None:
    # arrange: notification-db without its postStart hook
    del main_container(broken.one("StatefulSet", "notification-db"))["lifecycle"]["postStart"]
    # act / assert
    assert_caught(
        role_creation_violations(broken),
        "StatefulSet/notification-db container mongodb does not run app-user.js after each start",
    )
