"""The offline log path: OpenSearch in the `elasticsearch` StatefulSet, an rsyslog DaemonSet.

The per-pod checks (security, resources, probes, images, labels, policies) cover the DaemonSet
like any workload; these tests pin what is particular to it, with negative controls showing
that those checks do see the DaemonSet.
"""

import pytest

from suites import promises
from suites.static.checks.images import contract_image_violations
from suites.static.checks.inventory import workload_violations
from suites.static.checks.network_policies import call_violations, database_isolation_violations
from suites.static.checks.resources import resource_violations
from suites.static.checks.security import security_violations
from suites.static.controls import assert_caught
from suites.static.manifest import Rendered, main_container, pod_spec, pod_template, replicas


@pytest.fixture
def offline(rendered_overlays: dict[str, Rendered]) -> Rendered:
    return rendered_overlays["offline"]


@pytest.fixture
def broken_offline(rendered_overlays: dict[str, Rendered]) -> Rendered:
    """A private copy of the offline overlay for a negative control to break."""
    return rendered_overlays["offline"].copy()


def test_the_offline_store_is_opensearch_without_elastic_security_settings(
    offline: Rendered,
) -> None:
    store = offline.one("StatefulSet", "elasticsearch")
    container = main_container(store)
    env = {variable["name"]: variable.get("value") for variable in container["env"]}

    assert container["image"] == promises.expected_image("elasticsearch", "offline")
    assert env["discovery.type"] == "single-node"
    assert env["OPENSEARCH_JAVA_OPTS"] == "-Xms512m -Xmx512m"
    assert not [name for name in env if name.startswith("xpack.") or name == "ELASTIC_PASSWORD"]
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    assert mounts["/usr/share/opensearch/data"] == "data"


def test_the_offline_shipper_reads_the_nodes_pod_logs_read_only(offline: Rendered) -> None:
    shipper = offline.one("DaemonSet", "log-shipper")
    container = main_container(shipper)
    volumes = {v["name"]: v for v in pod_spec(shipper)["volumes"]}
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}

    pod_logs = mounts["/var/log/pods"]
    assert pod_logs.get("readOnly") is True
    assert volumes[pod_logs["name"]]["hostPath"]["path"] == "/var/log/pods"
    env = {variable["name"]: variable["value"] for variable in container["env"]}
    assert env["OPENSEARCH_HOST"] == "elasticsearch"
    assert env["LOG_FILES"].startswith(f"/var/log/pods/{promises.NAMESPACE}_")
    assert pod_template(shipper)["metadata"]["labels"]["demo-micro.dev/log-shipper"] == "true"
    assert replicas(shipper, offline) == promises.WORKER_NODES


def test_a_host_path_without_its_reason_is_caught(broken_offline: Rendered) -> None:
    # arrange
    del pod_template(broken_offline.one("DaemonSet", "log-shipper"))["metadata"]["annotations"][
        promises.HOST_PATH_ANNOTATION
    ]
    # act / assert
    assert_caught(
        security_violations(broken_offline), "DaemonSet/log-shipper pods mount a hostPath"
    )


def test_a_shipper_without_a_memory_limit_is_caught(broken_offline: Rendered) -> None:
    del main_container(broken_offline.one("DaemonSet", "log-shipper"))["resources"]["limits"][
        "memory"
    ]
    assert_caught(resource_violations(broken_offline), "container log-shipper has no memory limit")


def test_a_missing_shipper_is_caught(broken_offline: Rendered) -> None:
    broken_offline.remove("DaemonSet", "log-shipper")
    assert_caught(workload_violations(broken_offline), "DaemonSet/log-shipper is missing")


def test_a_shipper_on_another_image_is_caught(broken_offline: Rendered) -> None:
    main_container(broken_offline.one("DaemonSet", "log-shipper"))["image"] = "fluent-bit:3.2"
    assert_caught(
        contract_image_violations(broken_offline), "DaemonSet/log-shipper runs fluent-bit"
    )


def test_a_shipper_cut_off_from_the_store_is_caught(broken_offline: Rendered) -> None:
    broken_offline.remove("NetworkPolicy", "log-shipper")  # default deny then holds its egress
    assert_caught(
        call_violations(broken_offline), "log-shipper may not connect to elasticsearch:9200"
    )


def test_a_shipper_that_may_reach_a_database_is_caught(broken_offline: Rendered) -> None:
    broken_offline.one("NetworkPolicy", "log-shipper")["spec"]["egress"].append({})
    broken_offline.one("NetworkPolicy", "order-db")["spec"]["ingress"].append({})
    assert_caught(
        database_isolation_violations(broken_offline), "log-shipper may connect to order-db:5432"
    )
