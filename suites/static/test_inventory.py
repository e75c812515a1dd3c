"""The drawing's inventory: namespace, workloads, ConfigMaps, Secrets, Services, PVCs, pods."""

from suites import promises
from suites.static.checks.inventory import (
    configuration_violations,
    namespace_violations,
    pod_count_violations,
    service_count_violations,
    workload_violations,
)
from suites.static.checks.storage import pvc_count
from suites.static.controls import assert_caught, assert_holds
from suites.static.manifest import Rendered


def test_everything_lives_in_the_demo_micro_namespace(rendered: Rendered) -> None:
    assert_holds(namespace_violations(rendered))


def test_the_overlay_deploys_exactly_the_drawings_workloads(rendered: Rendered) -> None:
    assert_holds(workload_violations(rendered))


def test_the_six_configmaps_and_five_secrets_exist_by_the_drawings_names(
    rendered: Rendered,
) -> None:
    assert_holds(configuration_violations(rendered))


def test_there_are_ten_or_more_services(rendered: Rendered) -> None:
    assert_holds(service_count_violations(rendered))


def test_the_full_drawing_runs_fifteen_to_twenty_pods(
    rendered_overlays: dict[str, Rendered],
) -> None:
    assert_holds(pod_count_violations(rendered_overlays["kind"]))


def test_the_full_drawing_has_six_pvcs(rendered_overlays: dict[str, Rendered]) -> None:
    assert pvc_count(rendered_overlays["kind"]) == len(promises.VOLUMES)


def test_an_object_outside_the_namespace_is_caught(broken: Rendered) -> None:
    # arrange
    broken.one("Service", "redis")["metadata"]["namespace"] = "default"
    # act / assert
    assert_caught(namespace_violations(broken), "Service/redis is in namespace 'default'")


def test_a_missing_workload_is_caught(broken: Rendered) -> None:
    broken.remove("StatefulSet", "notification-db")
    assert_caught(workload_violations(broken), "StatefulSet/notification-db is missing")


def test_a_workload_of_the_wrong_kind_is_caught(broken: Rendered) -> None:
    broken.one("StatefulSet", "redis")["kind"] = "Deployment"
    assert_caught(workload_violations(broken), "Deployment/redis is not in the drawing")


def test_a_missing_configmap_is_caught(broken: Rendered) -> None:
    broken.remove("ConfigMap", "app-version")
    assert_caught(configuration_violations(broken), "ConfigMap/app-version is missing")


def test_a_renamed_secret_is_caught(broken: Rendered) -> None:
    broken.one("Secret", "aws-secret")["metadata"]["name"] = "aws-credentials"
    violations = configuration_violations(broken)
    assert_caught(violations, "Secret/aws-secret is missing")
    assert_caught(violations, "Secret/aws-credentials is not in the drawing")


def test_too_few_services_are_caught(broken: Rendered) -> None:
    for service in broken.of_kind("Service")[promises.MIN_SERVICE_COUNT - 1 :]:
        broken.objects.remove(service)
    assert_caught(service_count_violations(broken), "the drawing promises 10+")


def test_a_pod_count_beyond_the_drawing_is_caught(broken: Rendered) -> None:
    for deployment in broken.of_kind("Deployment"):
        deployment["spec"]["replicas"] = 3
    assert_caught(pod_count_violations(broken), "the drawing promises 15-20")
