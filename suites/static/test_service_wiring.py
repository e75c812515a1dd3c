"""Services select pods that exist on ports they expose; every reference resolves."""

from suites.static.checks.service_wiring import (
    label_violations,
    promised_port_violations,
    reference_violations,
    selector_violations,
)
from suites.static.controls import assert_caught, assert_holds
from suites.static.manifest import Rendered, main_container, pod_spec


def test_every_service_selects_pods_on_ports_they_expose(rendered: Rendered) -> None:
    assert_holds(selector_violations(rendered))


def test_every_workload_has_a_clusterip_service_on_the_drawings_port(rendered: Rendered) -> None:
    assert_holds(promised_port_violations(rendered))


def test_every_referenced_configmap_secret_and_pvc_exists(rendered: Rendered) -> None:
    assert_holds(reference_violations(rendered))


def test_pods_carry_the_labels_the_live_suites_select_on(rendered: Rendered) -> None:
    assert_holds(label_violations(rendered))


def test_a_service_port_no_container_exposes_is_caught(broken: Rendered) -> None:
    # arrange
    broken.one("Service", "inventory-service")["spec"]["ports"][0]["targetPort"] = 9999
    # act / assert
    assert_caught(selector_violations(broken), "Service/inventory-service port 9000 targets 9999")


def test_a_service_selecting_nothing_is_caught(broken: Rendered) -> None:
    broken.one("Service", "redis")["spec"]["selector"] = {"app.kubernetes.io/name": "rediss"}
    assert_caught(selector_violations(broken), "Service/redis selects no pods")


def test_a_service_on_the_wrong_port_is_caught(broken: Rendered) -> None:
    service = broken.one("Service", "order-service")
    service["spec"]["ports"][0]["port"] = 9000
    assert_caught(promised_port_violations(broken), "the drawing promises 9001")


def test_a_reference_to_a_missing_configmap_is_caught(broken: Rendered) -> None:
    broken.remove("ConfigMap", "localstack-config")
    assert_caught(
        reference_violations(broken), "reads ConfigMap/localstack-config, which is missing"
    )


def test_a_reference_to_a_missing_secret_key_is_caught(broken: Rendered) -> None:
    del broken.one("Secret", "mongodb-secret")["stringData"]["MONGODB_PASSWORD"]
    assert_caught(
        reference_violations(broken),
        "reads MONGODB_PASSWORD from Secret/mongodb-secret, which is missing",
    )


def test_a_reference_to_a_missing_pvc_is_caught(broken: Rendered) -> None:
    volumes = pod_spec(broken.one("Deployment", "localstack"))["volumes"]
    volumes[0]["persistentVolumeClaim"]["claimName"] = "localstack-data"
    assert_caught(
        reference_violations(broken),
        "mounts PersistentVolumeClaim/localstack-data, which is missing",
    )


def test_a_statefulset_without_its_headless_service_is_caught(broken: Rendered) -> None:
    broken.remove("Service", "order-db-headless")
    assert_caught(
        reference_violations(broken), "StatefulSet/order-db is governed by order-db-headless"
    )


def test_a_pod_without_the_app_label_is_caught(broken: Rendered) -> None:
    workload = broken.one("Deployment", "api-gateway")
    workload["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/name"] = "gateway"
    assert_caught(
        label_violations(broken),
        "Deployment/api-gateway pods are not labelled app.kubernetes.io/name=api-gateway",
    )
    assert main_container(workload)  # the workload is otherwise intact
