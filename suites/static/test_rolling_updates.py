"""Zero-downtime updates: maxUnavailable 0 and a surge pod on every Deployment."""

from suites.static.checks.rolling_updates import rolling_update_violations
from suites.static.controls import assert_caught, assert_holds
from suites.static.manifest import Rendered


def test_every_deployment_rolls_with_no_pod_unavailable(rendered: Rendered) -> None:
    assert_holds(rolling_update_violations(rendered))


def test_max_unavailable_one_is_caught(broken: Rendered) -> None:
    # arrange
    broken.one("Deployment", "api-gateway")["spec"]["strategy"]["rollingUpdate"][
        "maxUnavailable"
    ] = 1
    # act / assert
    assert_caught(
        rolling_update_violations(broken), "Deployment/api-gateway has maxUnavailable 1, not 0"
    )


def test_the_api_default_strategy_is_caught(broken: Rendered) -> None:
    del broken.one("Deployment", "order-service")["spec"]["strategy"]
    assert_caught(
        rolling_update_violations(broken),
        "Deployment/order-service does not update by RollingUpdate",
    )


def test_a_recreate_strategy_is_caught(broken: Rendered) -> None:
    broken.one("Deployment", "localstack")["spec"]["strategy"] = {"type": "Recreate"}
    assert_caught(
        rolling_update_violations(broken), "Deployment/localstack does not update by RollingUpdate"
    )


def test_a_statefulset_updated_on_delete_is_caught(broken: Rendered) -> None:
    broken.one("StatefulSet", "order-db")["spec"]["updateStrategy"] = {"type": "OnDelete"}
    assert_caught(
        rolling_update_violations(broken), "StatefulSet/order-db does not update by RollingUpdate"
    )
