"""The online log path: a Filebeat DaemonSet → Logstash's beats input → Elasticsearch → Kibana.

No registry answers on the machine these were written on, so the path never ran here; these
checks pin what the rendered kind overlay promises. The per-pod checks (security, resources,
probes, images, labels, policies) cover the DaemonSet like any workload; the negative controls
below show that they, and the wiring checks, do see it.
"""

import pytest
import yaml

from suites import promises
from suites.static.checks.images import contract_image_violations
from suites.static.checks.inventory import configuration_violations, workload_violations
from suites.static.checks.log_path import (
    FILEBEAT_CONFIG,
    beats_setting,
    filebeat_config,
    index_violations,
    logstash_writer_violations,
    online_shipper_violations,
)
from suites.static.checks.resources import resource_violations
from suites.static.checks.security import security_violations
from suites.static.controls import assert_caught, assert_holds
from suites.static.manifest import Rendered, main_container, pod_spec, pod_template, replicas
from testbed import kibana


@pytest.fixture
def online(rendered_overlays: dict[str, Rendered]) -> Rendered:
    return rendered_overlays["kind"]


@pytest.fixture
def broken_online(rendered_overlays: dict[str, Rendered]) -> Rendered:
    """A private copy of the kind overlay for a negative control to break."""
    return rendered_overlays["kind"].copy()


def _rewrite_config(rendered: Rendered, change: dict[str, object]) -> None:
    """Replace settings of the shipper's filebeat.yml in a broken copy."""
    config = filebeat_config(rendered)
    config.update(change)
    name, key = FILEBEAT_CONFIG
    rendered.one("ConfigMap", name)["data"][key] = yaml.safe_dump(config)


def test_the_kind_overlay_renders_a_filebeat_shipper_on_every_worker(online: Rendered) -> None:
    shipper = online.one("DaemonSet", "log-shipper")
    container = main_container(shipper)

    assert container["image"] == promises.expected_image("log-shipper", "kind")
    # One version for the whole Elastic stack.
    stack = {
        main_container(online.workload(n))["image"].rpartition(":")[2]
        for n in ("elasticsearch", "logstash", "kibana")
    }
    assert {container["image"].rpartition(":")[2]} == stack
    assert replicas(shipper, online) == promises.WORKER_NODES
    assert not pod_spec(shipper).get("tolerations"), "the control plane runs none of our pods"
    config_mount = next(m for m in container["volumeMounts"] if m["name"] == "config")
    assert container["args"][:2] == ["-c", f"{config_mount['mountPath']}/filebeat.yml"]


def test_the_online_shipper_reads_only_demo_micro_logs_and_ships_to_logstash_alone(
    online: Rendered,
) -> None:
    assert_holds(online_shipper_violations(online))


def test_the_online_shipper_ships_to_logstashs_beats_port(online: Rendered) -> None:
    target, port = promises.SHIPPER_TARGETS["filebeat"]
    pipeline = " ".join(main_container(online.one("Deployment", "logstash"))["args"])

    assert (target, port) == ("logstash", promises.workload("logstash").port)
    assert beats_setting(filebeat_config(online), "output.logstash.hosts") == [f"{target}:{port}"]
    assert f"beats {{ port => {port} }}" in pipeline


def test_the_online_shipper_lifts_json_bodies_and_names_each_line(online: Rendered) -> None:
    (stream,) = beats_setting(filebeat_config(online), "filebeat.inputs")
    parsers = [next(iter(parser)) for parser in stream["parsers"]]
    ndjson = next(p["ndjson"] for p in stream["parsers"] if "ndjson" in p)
    fingerprint = next(p["fingerprint"] for p in stream["processors"] if "fingerprint" in p)
    pipeline = " ".join(main_container(online.one("Deployment", "logstash"))["args"])

    assert parsers == ["container", "ndjson"]  # the CRI prefix first, then the JSON body
    assert ndjson["target"] == ""  # service, level, version, request_id at the top level
    assert ndjson["add_error_key"] is False  # our services log `error` as a string
    assert fingerprint["target_field"] == "@metadata._id"
    assert {"log.offset", "@timestamp", "kubernetes.pod"} <= set(fingerprint["fields"])
    assert 'document_id => "%{[@metadata][_id]}"' in pipeline


def test_both_paths_write_the_indices_the_suite_and_the_data_view_read(
    rendered: Rendered,
) -> None:
    assert_holds(index_violations(rendered))
    assert f"{promises.LOG_INDEX_PREFIX}*" == kibana.LOG_INDEX_PATTERN


def test_the_online_shipper_keeps_its_registry_on_the_node(online: Rendered) -> None:
    shipper = online.one("DaemonSet", "log-shipper")
    volumes = {v["name"]: v for v in pod_spec(shipper)["volumes"]}
    mounts = {m["mountPath"]: m for m in main_container(shipper)["volumeMounts"]}
    data_path = beats_setting(filebeat_config(online), "path.data")

    assert volumes[mounts[data_path]["name"]]["hostPath"]["path"] == "/var/lib/demo-micro/filebeat"
    assert mounts["/var/log/pods"].get("readOnly") is True


def test_a_shipper_reading_every_namespace_is_caught(broken_online: Rendered) -> None:
    # arrange
    (stream,) = beats_setting(filebeat_config(broken_online), "filebeat.inputs")
    stream["paths"] = ["/var/log/pods/*/*/*.log"]
    _rewrite_config(broken_online, {"filebeat.inputs": [stream]})
    # act / assert
    assert_caught(
        online_shipper_violations(broken_online),
        "reads /var/log/pods/*/*/*.log, beyond namespace demo-micro",
    )


def test_a_shipper_sending_straight_to_the_store_is_caught(broken_online: Rendered) -> None:
    _rewrite_config(broken_online, {"output.logstash": {"hosts": ["elasticsearch:9200"]}})
    assert_caught(
        online_shipper_violations(broken_online),
        "ships to ['elasticsearch:9200'], not logstash:5044",
    )


def test_a_second_output_is_caught(broken_online: Rendered) -> None:
    _rewrite_config(broken_online, {"output.elasticsearch": {"hosts": ["elasticsearch:9200"]}})
    assert_caught(online_shipper_violations(broken_online), "not output.logstash alone")


def test_a_writable_pod_log_mount_is_caught(broken_online: Rendered) -> None:
    container = main_container(broken_online.one("DaemonSet", "log-shipper"))
    next(m for m in container["volumeMounts"] if m["mountPath"] == "/var/log/pods")["readOnly"] = (
        False
    )
    assert_caught(
        online_shipper_violations(broken_online), "mounts /var/log/pods at /var/log/pods writable"
    )


def test_a_shipper_cut_off_from_logstash_is_caught(broken_online: Rendered) -> None:
    broken_online.remove("NetworkPolicy", "log-shipper")  # default deny then holds its egress
    assert_caught(
        online_shipper_violations(broken_online), "log-shipper may not connect to logstash:5044"
    )


def test_a_shipper_that_may_reach_the_store_is_caught(broken_online: Rendered) -> None:
    labels = pod_template(broken_online.one("DaemonSet", "log-shipper"))["metadata"]["labels"]
    labels["demo-micro.dev/log-shipper"] = "true"  # the label the store admits
    broken_online.one("NetworkPolicy", "log-shipper")["spec"]["egress"].append({})
    assert_caught(
        online_shipper_violations(broken_online),
        "log-shipper may connect to elasticsearch:9200, which it never calls",
    )


def test_logstash_writing_another_index_is_caught(broken_online: Rendered) -> None:
    container = main_container(broken_online.one("Deployment", "logstash"))
    prefix = promises.LOG_INDEX_PREFIX
    container["args"] = [a.replace(f"{prefix}%", "other-%") for a in container["args"]]
    assert_caught(index_violations(broken_online), "Logstash writes to other-*")


def test_an_online_shipper_running_as_root_without_its_reason_is_caught(
    broken_online: Rendered,
) -> None:
    del pod_template(broken_online.one("DaemonSet", "log-shipper"))["metadata"]["annotations"][
        promises.RUNS_AS_ROOT_ANNOTATION
    ]
    assert_caught(security_violations(broken_online), "DaemonSet/log-shipper pods may run as root")


def test_an_online_host_path_without_its_reason_is_caught(broken_online: Rendered) -> None:
    del pod_template(broken_online.one("DaemonSet", "log-shipper"))["metadata"]["annotations"][
        promises.HOST_PATH_ANNOTATION
    ]
    assert_caught(security_violations(broken_online), "DaemonSet/log-shipper pods mount a hostPath")


def test_an_online_shipper_with_a_writable_root_is_caught(broken_online: Rendered) -> None:
    main_container(broken_online.one("DaemonSet", "log-shipper"))["securityContext"][
        "readOnlyRootFilesystem"
    ] = False
    assert_caught(
        security_violations(broken_online),
        "container filebeat has a writable root filesystem and no annotated reason",
    )


def test_an_online_shipper_without_a_cpu_limit_is_caught(broken_online: Rendered) -> None:
    del main_container(broken_online.one("DaemonSet", "log-shipper"))["resources"]["limits"]["cpu"]
    assert_caught(resource_violations(broken_online), "container filebeat has no cpu limit")


def test_a_missing_online_shipper_is_caught(broken_online: Rendered) -> None:
    broken_online.remove("DaemonSet", "log-shipper")
    assert_caught(workload_violations(broken_online), "DaemonSet/log-shipper is missing")


def test_an_online_shipper_on_another_version_is_caught(broken_online: Rendered) -> None:
    main_container(broken_online.one("DaemonSet", "log-shipper"))["image"] = (
        "docker.elastic.co/beats/filebeat:8.17.0"
    )
    assert_caught(
        contract_image_violations(broken_online),
        "DaemonSet/log-shipper runs docker.elastic.co/beats/filebeat:8.17.0",
    )


def test_a_missing_shipper_config_is_caught(broken_online: Rendered) -> None:
    broken_online.remove("ConfigMap", "log-shipper-config")
    assert_caught(
        configuration_violations(broken_online), "ConfigMap/log-shipper-config is missing"
    )


def test_logstash_writes_as_the_log_writer_whose_role_covers_the_log_indices_alone(
    online: Rendered,
) -> None:
    assert_holds(logstash_writer_violations(online))


def test_logstash_writing_as_elastic_is_caught(broken_online: Rendered) -> None:
    container = main_container(broken_online.one("Deployment", "logstash"))
    container["args"] = [arg.replace("LOG_WRITER_", "ELASTIC_") for arg in container["args"]]
    assert_caught(
        logstash_writer_violations(broken_online),
        "Logstash writes as ['${ELASTIC_USERNAME}'], not the log writer",
    )


def test_a_log_writer_role_over_every_index_is_caught(broken_online: Rendered) -> None:
    (init,) = pod_spec(broken_online.one("Deployment", "logstash"))["initContainers"]
    pattern = f'"{promises.LOG_INDEX_PREFIX}*"'
    init["command"] = [part.replace(pattern, '"*"') for part in init["command"]]
    assert_caught(logstash_writer_violations(broken_online), "the log writer's role covers ['*']")
