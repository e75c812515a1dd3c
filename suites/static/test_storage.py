"""Persistent storage: the drawing's PVC sizes, mounted by their workloads."""

from suites.static.checks.storage import storage_violations
from suites.static.controls import assert_caught, assert_holds
from suites.static.manifest import Rendered, containers


def test_every_volume_has_the_drawings_size_and_is_mounted(rendered: Rendered) -> None:
    assert_holds(storage_violations(rendered))


def test_a_one_gigabyte_database_volume_is_caught(broken: Rendered) -> None:
    # arrange
    template = broken.one("StatefulSet", "order-db")["spec"]["volumeClaimTemplates"][0]
    template["spec"]["resources"]["requests"]["storage"] = "1Gi"
    # act / assert
    assert_caught(storage_violations(broken), "order-db-pvc (data-order-db-0) requests 1Gi")


def test_a_database_without_a_volume_claim_template_is_caught(broken: Rendered) -> None:
    del broken.one("StatefulSet", "notification-db")["spec"]["volumeClaimTemplates"]
    assert_caught(storage_violations(broken), "has no volumeClaimTemplate data for mongodb-pvc")


def test_a_volume_that_is_not_mounted_is_caught(broken: Rendered) -> None:
    container = containers(broken.one("StatefulSet", "redis"))[0]
    container["volumeMounts"] = [m for m in container["volumeMounts"] if m["name"] != "data"]
    assert_caught(storage_violations(broken), "StatefulSet/redis does not mount redis-pvc")


def test_a_missing_localstack_pvc_is_caught(broken: Rendered) -> None:
    broken.remove("PersistentVolumeClaim", "localstack-pvc")
    assert_caught(storage_violations(broken), "PersistentVolumeClaim/localstack-pvc is missing")


def test_a_resized_localstack_pvc_is_caught(broken: Rendered) -> None:
    broken.one("PersistentVolumeClaim", "localstack-pvc")["spec"]["resources"]["requests"][
        "storage"
    ] = "5Gi"
    assert_caught(storage_violations(broken), "localstack-pvc requests 5Gi")
