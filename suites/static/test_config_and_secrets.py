"""Settings in ConfigMaps, credentials only in Secrets, every service given its contract."""

from suites.static.checks.config_and_secrets import (
    contract_environment_violations,
    literal_secret_env_violations,
    secret_in_configmap_violations,
)
from suites.static.controls import assert_caught, assert_holds
from suites.static.manifest import Rendered, main_container


def test_no_configmap_holds_a_secret_value(rendered: Rendered) -> None:
    assert_holds(secret_in_configmap_violations(rendered))


def test_no_container_spells_out_a_credential(rendered: Rendered) -> None:
    assert_holds(literal_secret_env_violations(rendered))


def test_every_service_receives_the_environment_the_contract_names(rendered: Rendered) -> None:
    assert_holds(contract_environment_violations(rendered))


def test_a_password_in_a_configmap_is_caught(broken: Rendered) -> None:
    # arrange
    broken.one("ConfigMap", "order-service-config")["data"]["POSTGRES_PASSWORD"] = "hunter2-hunter2"
    # act / assert
    assert_caught(
        secret_in_configmap_violations(broken),
        "ConfigMap/order-service-config carries POSTGRES_PASSWORD",
    )


def test_a_secret_value_under_an_innocent_key_is_caught(broken: Rendered) -> None:
    redis_password = broken.one("Secret", "redis-secret")["stringData"]["REDIS_PASSWORD"]
    broken.one("ConfigMap", "api-gateway-config")["data"]["REDIS_URL"] = (
        f"redis://:{redis_password}@redis:6379"
    )
    assert_caught(secret_in_configmap_violations(broken), "key REDIS_URL contains a Secret's value")


def test_a_literal_password_in_a_container_is_caught(broken: Rendered) -> None:
    container = main_container(broken.one("StatefulSet", "order-db"))
    container["env"] = [{"name": "POSTGRES_PASSWORD", "value": "postgres"}]
    assert_caught(literal_secret_env_violations(broken), "sets POSTGRES_PASSWORD literally")


def test_a_service_missing_its_secret_is_caught(broken: Rendered) -> None:
    container = main_container(broken.one("Deployment", "notification-service"))
    container["envFrom"] = [
        s for s in container["envFrom"] if s.get("secretRef", {}).get("name") != "aws-secret"
    ]
    assert_caught(
        contract_environment_violations(broken),
        "Deployment/notification-service does not receive AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY",
    )
