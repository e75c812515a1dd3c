"""Least privilege everywhere; each exception carries its reason in an annotation."""

from suites import promises
from suites.static.checks.security import security_violations, writable_tmp_violations
from suites.static.controls import assert_caught, assert_holds
from suites.static.manifest import Rendered, main_container, pod_spec, pod_template


def test_every_pod_runs_with_least_privilege(rendered: Rendered) -> None:
    assert_holds(security_violations(rendered))


def test_services_write_only_to_an_emptydir_at_tmp(rendered: Rendered) -> None:
    assert_holds(writable_tmp_violations(rendered))


def test_running_as_root_is_caught(broken: Rendered) -> None:
    # arrange
    pod_spec(broken.one("Deployment", "order-service"))["securityContext"]["runAsUser"] = 0
    # act / assert
    assert_caught(security_violations(broken), "Deployment/order-service pods may run as root")


def test_privilege_escalation_is_caught(broken: Rendered) -> None:
    main_container(broken.one("StatefulSet", "redis"))["securityContext"][
        "allowPrivilegeEscalation"
    ] = True
    assert_caught(security_violations(broken), "container redis allows privilege escalation")


def test_kept_capabilities_are_caught(broken: Rendered) -> None:
    del main_container(broken.one("StatefulSet", "order-db"))["securityContext"]["capabilities"]
    assert_caught(security_violations(broken), "container postgres does not drop all capabilities")


def test_an_unexplained_writable_root_is_caught(broken: Rendered) -> None:
    main_container(broken.one("Deployment", "api-gateway"))["securityContext"][
        "readOnlyRootFilesystem"
    ] = False
    assert_caught(
        security_violations(broken),
        "container api-gateway has a writable root filesystem and no annotated reason",
    )


def test_an_exception_without_its_reason_is_caught(broken: Rendered) -> None:
    del pod_template(broken.one("Deployment", "localstack"))["metadata"]["annotations"][
        promises.RUNS_AS_ROOT_ANNOTATION
    ]
    assert_caught(security_violations(broken), "Deployment/localstack pods may run as root")


def test_a_missing_seccomp_profile_is_caught(broken: Rendered) -> None:
    del pod_spec(broken.one("StatefulSet", "notification-db"))["securityContext"]["seccompProfile"]
    assert_caught(
        security_violations(broken),
        "StatefulSet/notification-db pods have no RuntimeDefault seccomp profile",
    )


def test_a_service_without_a_writable_tmp_is_caught(broken: Rendered) -> None:
    main_container(broken.one("Deployment", "inventory-service"))["volumeMounts"] = []
    assert_caught(
        writable_tmp_violations(broken),
        "Deployment/inventory-service container inventory-service has no emptyDir at /tmp",
    )
