"""The offline log path: OpenSearch in the `elasticsearch` StatefulSet, an rsyslog DaemonSet,
and the store's users (the administrator; the shipper's writer).

The per-pod checks (security, resources, probes, images, labels, policies) cover the DaemonSet
like any workload; these tests pin what is particular to it, with negative controls showing
that those checks do see the DaemonSet.
"""

import pytest

from suites import promises
from suites.static.checks.images import contract_image_violations
from suites.static.checks.inventory import workload_violations
from suites.static.checks.log_path import store_user_violations
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
    assert not [name for name in env if name.startswith("xpack.")]
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    assert mounts["/usr/share/opensearch/data"] == "data"


def test_the_offline_store_admits_users_from_its_secret_and_the_shipper_is_its_writer(
    offline: Rendered,
) -> None:
    assert store_user_violations(offline) == []


def test_a_store_with_its_security_plugin_disabled_is_caught(broken_offline: Rendered) -> None:
    store = main_container(broken_offline.one("StatefulSet", "elasticsearch"))
    store["env"].append({"name": "plugins.security.disabled", "value": "true"})
    assert_caught(
        store_user_violations(broken_offline),
        "the log store runs with its security plugin disabled",
    )


def test_a_store_without_the_administrators_password_is_caught(broken_offline: Rendered) -> None:
    store = main_container(broken_offline.one("StatefulSet", "elasticsearch"))
    store["env"] = [e for e in store["env"] if e["name"] != "ELASTIC_PASSWORD"]
    assert_caught(
        store_user_violations(broken_offline),
        "the log store takes ELASTIC_PASSWORD from no Secret, not ('elasticsearch-secret', "
        "'ELASTIC_PASSWORD')",
    )


def test_a_writer_of_every_index_is_caught(broken_offline: Rendered) -> None:
    store = main_container(broken_offline.one("StatefulSet", "elasticsearch"))
    (indices,) = [e for e in store["env"] if e["name"] == "LOG_WRITER_INDICES"]
    indices["value"] = "*"
    assert_caught(
        store_user_violations(broken_offline),
        f"the log writer may write to *, not {promises.LOG_INDEX_PREFIX}*",
    )


def test_a_shipper_logged_in_as_the_administrator_is_caught(broken_offline: Rendered) -> None:
    shipper = main_container(broken_offline.one("DaemonSet", "log-shipper"))
    for variable in shipper["env"]:
        if variable["name"].startswith("OPENSEARCH_") and "valueFrom" in variable:
            ref = variable["valueFrom"]["secretKeyRef"]
            ref["key"] = ref["key"].replace("LOG_WRITER_", "ELASTIC_")
    assert_caught(
        store_user_violations(broken_offline),
        "log-shipper takes OPENSEARCH_PASSWORD from ('elasticsearch-secret', 'ELASTIC_PASSWORD'), "
        "not ('elasticsearch-secret', 'LOG_WRITER_PASSWORD')",
    )


def test_the_offline_shipper_reads_the_nodes_pod_logs_read_only(offline: Rendered) -> None:
    shipper = offline.one("DaemonSet", "log-shipper")
    container = main_container(shipper)
    volumes = {v["name"]: v for v in pod_spec(shipper)["volumes"]}
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}

    pod_logs = mounts["/var/log/pods"]
    assert pod_logs.get("readOnly") is True
    assert volumes[pod_logs["name"]]["hostPath"]["path"] == "/var/log/pods"
    env = {variable["name"]: variable.get("value") for variable in container["env"]}
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
