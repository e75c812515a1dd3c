"""Every rendered object is valid, strictly, against Kubernetes v1.34's OpenAPI schema."""

from suites.static.checks.schema import schema_violations
from suites.static.controls import assert_caught, assert_holds
from suites.static.manifest import Rendered, main_container


def test_every_object_is_valid_against_the_target_kubernetes_schema(rendered: Rendered) -> None:
    assert_holds(schema_violations(rendered))


def test_an_unknown_field_is_caught(broken: Rendered) -> None:
    # arrange: a typo kubectl --validate=strict would reject
    broken.one("Deployment", "api-gateway")["spec"]["replica"] = 2
    # act / assert
    assert_caught(
        schema_violations(broken),
        "Deployment/api-gateway at spec: Additional properties are not allowed ('replica'",
    )


def test_a_value_of_the_wrong_type_is_caught(broken: Rendered) -> None:
    main_container(broken.one("StatefulSet", "redis"))["ports"][0]["containerPort"] = "6379"
    assert_caught(schema_violations(broken), "'6379' is not of type 'integer'")


def test_a_missing_required_field_is_caught(broken: Rendered) -> None:
    del broken.one("Service", "redis")["spec"]["ports"][0]["port"]
    assert_caught(
        schema_violations(broken), "Service/redis at spec.ports.0: 'port' is a required property"
    )


def test_a_field_from_a_later_kubernetes_is_caught(broken: Rendered) -> None:
    main_container(broken.one("StatefulSet", "redis"))["lifecycle"]["preStop"]["sleep"][
        "milliseconds"
    ] = 5
    assert_caught(schema_violations(broken), "('milliseconds' was unexpected)")
