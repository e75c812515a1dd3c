"""Loading images into the nodes: archives saved once per set of image IDs, and a reused
cluster's pods found when they run an earlier build than their node holds (testbed/archives.py,
Testbed.stale_builds: `up` restarts them, `--testbed-reuse` refuses to run)."""

from __future__ import annotations

from pathlib import Path

import pytest
from kubernetes.client import (
    V1ContainerStatus,
    V1ObjectMeta,
    V1OwnerReference,
    V1Pod,
    V1PodStatus,
    V1Taint,
)

from testbed import archives
from testbed.archives import Archive, archive_name, needed, save_archives
from testbed.cluster import (
    another_build,
    node_digests,
    normalized,
    reserves,
    workload_of,
)

#: `ctr -n k8s.io images ls` on a node, as the testbed reads it.
MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
CTR_LISTING = "\n".join(
    [
        "REF  TYPE  DIGEST  SIZE  PLATFORMS  LABELS",
        f"docker.io/demo-micro/api-gateway:0.1.0 {MANIFEST} sha256:new 455.1 MiB linux/amd64 -",
        f"docker.io/demo-micro-airgap/redis:7 {MANIFEST} sha256:redis 249.0 MiB linux/amd64 -",
    ]
)


def pod(owner_kind: str, owner: str, image: str, running: str, hash_label: str = "") -> V1Pod:
    labels = {"pod-template-hash": hash_label} if hash_label else {}
    return V1Pod(
        metadata=V1ObjectMeta(
            labels=labels,
            owner_references=[
                V1OwnerReference(api_version="apps/v1", kind=owner_kind, name=owner, uid="u")
            ],
        ),
        status=V1PodStatus(
            container_statuses=[
                V1ContainerStatus(
                    name="c",
                    image=image,
                    image_id=f"docker.io/library/import-2026-12-02@{running}",
                    ready=True,
                    restart_count=0,
                )
            ]
        ),
    )


#: Manifest digest → image config digest, as the node's content store answers.
CONFIGS = {"sha256:new": "sha256:config-new", "sha256:old": "sha256:config-old"}


def config_of(digest: str) -> str:
    return CONFIGS.get(digest, "")


def test_a_pod_running_an_earlier_build_than_its_node_holds_is_found() -> None:
    held = node_digests(CTR_LISTING)
    old = pod("ReplicaSet", "api-gateway-5d9c", "demo-micro/api-gateway:0.1.0", "sha256:old")

    found = another_build(old, held, config_of)

    assert "runs docker.io/library/import-2026-12-02@sha256:old (config sha256:config-old)" in found
    assert "the node holds sha256:new (config sha256:config-new)" in found
    by_config = pod("ReplicaSet", "api-gateway-5d9c", "demo-micro/api-gateway:0.1.0", "")
    by_config.status.container_statuses[0].image_id = "sha256:config-old"
    assert "(config sha256:config-old)" in another_build(by_config, held, config_of)


def test_a_pod_whose_manifest_the_node_cannot_read_is_found() -> None:
    held = node_digests(CTR_LISTING)
    gone = pod("ReplicaSet", "api-gateway-5d9c", "demo-micro/api-gateway:0.1.0", "sha256:gone")

    assert "(config unknown)" in another_build(gone, held, config_of)


def test_negative_control_a_pod_running_the_build_its_node_holds_is_not_found() -> None:
    held = node_digests(CTR_LISTING)
    image = "demo-micro/api-gateway:0.1.0"
    current = pod("ReplicaSet", "api-gateway-5d9c", image, "sha256:new")
    # The same build under another manifest (an image imported twice, or saved another way).
    same_config = pod("ReplicaSet", "api-gateway-5d9c", image, "sha256:again")
    # The kubelet names an image with no digest reference by its config alone.
    by_config = pod("ReplicaSet", "api-gateway-5d9c", image, "")
    by_config.status.container_statuses[0].image_id = "sha256:config-new"
    unknown = pod("ReplicaSet", "x-1", "example.org/other:1", "sha256:any")

    assert another_build(current, held, config_of) == ""
    again = {**CONFIGS, "sha256:again": "sha256:config-new"}
    assert another_build(same_config, held, lambda digest: again.get(digest, "")) == ""
    assert another_build(by_config, held, config_of) == ""
    assert another_build(unknown, held, config_of) == ""  # an image the node does not list


def test_the_workload_owning_a_pod_is_named_as_kubectl_rollout_takes_it() -> None:
    image = "demo-micro/api-gateway:0.1.0"
    owned = pod("ReplicaSet", "api-gateway-5d9c7f", image, "sha256:x", hash_label="5d9c7f")
    assert workload_of(owned) == "deployment/api-gateway"
    assert workload_of(pod("StatefulSet", "redis", image, "sha256:x")) == "statefulset/redis"
    assert workload_of(pod("DaemonSet", "log-shipper", image, "sha256:x")) == (
        "daemonset/log-shipper"
    )
    assert workload_of(pod("Job", "j", image, "sha256:x")) is None


def test_references_are_normalized_as_containerd_names_them() -> None:
    assert normalized("demo-micro/api-gateway:0.1.0") == "docker.io/demo-micro/api-gateway:0.1.0"
    assert normalized("registry.k8s.io/pause:3.10.1") == "registry.k8s.io/pause:3.10.1"
    assert normalized("docker.io/a/b:1") == "docker.io/a/b:1"


def test_an_archive_is_named_by_its_images_and_their_ids() -> None:
    ids = {"a:1": "sha256:1", "b:1": "sha256:2"}
    same = archive_name(["b:1", "a:1"], ids)
    assert same == archive_name(["a:1", "b:1"], ids)  # the order does not matter
    assert same != archive_name(["a:1", "b:1"], {**ids, "b:1": "sha256:3"})  # a rebuild does


@pytest.fixture
def saved(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """`docker save` replaced by a file write; the calls it got."""
    calls: list[list[str]] = []

    def fake_run(cmd: list[str], **_: object) -> str:
        calls.append(cmd[4:])
        Path(cmd[3]).write_text(" ".join(cmd[4:]))
        return ""

    monkeypatch.setattr(archives, "run", fake_run)
    return calls


def test_an_archive_is_saved_once_and_reused_while_its_images_stay_the_same(
    tmp_path: Path, saved: list[list[str]]
) -> None:
    ids = {"dep:1": "sha256:d", "svc:1": "sha256:s"}
    first = save_archives([["dep:1"], ["svc:1"], []], ids, tmp_path)
    again = save_archives([["dep:1"], ["svc:1"]], ids, tmp_path)
    assert saved == [["dep:1"], ["svc:1"]]  # the second load saved nothing
    assert first == again
    assert not list(tmp_path.glob("*.partial"))


def test_a_rebuilt_group_is_saved_again_and_its_old_archive_deleted(
    tmp_path: Path, saved: list[list[str]]
) -> None:
    ids = {"dep:1": "sha256:d", "svc:1": "sha256:s"}
    old = save_archives([["dep:1"], ["svc:1"]], ids, tmp_path)
    new = save_archives([["dep:1"], ["svc:1"]], {**ids, "svc:1": "sha256:t"}, tmp_path)
    assert saved == [["dep:1"], ["svc:1"], ["svc:1"]]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(a.path.name for a in new)
    assert not old[1].path.exists()


def test_a_node_imports_only_the_archives_holding_what_it_lacks(tmp_path: Path) -> None:
    dep = Archive(("dep:1", "addon:1"), tmp_path / "d.tar")
    svc = Archive(("svc:1",), tmp_path / "s.tar")
    assert needed([dep, svc], ["svc:1"]) == [svc]
    assert needed([dep, svc], ["addon:1", "svc:1"]) == [dep, svc]
    assert needed([dep, svc], []) == []


def test_a_worker_still_starting_gets_the_images_its_pods_will_need() -> None:
    # a worker a second after it joined: the node controller's not-ready taint, not yet lifted
    starting = V1Taint(key="node.kubernetes.io/not-ready", effect="NoSchedule")
    unreachable = V1Taint(key="node.kubernetes.io/unreachable", effect="NoExecute")

    assert not reserves(starting)
    assert not reserves(unreachable)


def test_negative_control_the_control_plane_gets_no_images() -> None:
    control_plane = V1Taint(key="node-role.kubernetes.io/control-plane", effect="NoSchedule")
    preferred = V1Taint(key="node-role.kubernetes.io/control-plane", effect="PreferNoSchedule")

    assert reserves(control_plane)
    assert not reserves(preferred)
