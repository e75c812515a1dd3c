"""Loading images into the nodes: archives saved once per set of image IDs, and a reused
cluster's workloads rolled out again when their image was rebuilt (testbed/archives.py,
Testbed.restart_workloads_of)."""

from __future__ import annotations

from pathlib import Path

import pytest

from testbed import archives
from testbed.archives import Archive, archive_name, needed, save_archives
from testbed.cluster import normalized, using

#: As kubectl's jsonpath prints it: each image followed by a space.
LISTING = (
    "api-gateway demo-micro/api-gateway:0.1.0 \n"
    "localstack demo-micro-airgap/moto:5.2.5 \n"
    "order-service docker.io/demo-micro/order-service:0.1.0 sidecar.example/x:1 \n"
)


def test_a_workload_is_restarted_when_it_runs_a_rebuilt_image_however_spelled() -> None:
    rebuilt = ["demo-micro/api-gateway:0.1.0", "demo-micro/order-service:0.1.0"]
    assert using(LISTING, rebuilt) == ["api-gateway", "order-service"]


def test_negative_control_no_workload_is_restarted_when_none_of_its_images_was_rebuilt() -> None:
    assert using(LISTING, ["demo-micro/notification-service:0.1.0"]) == []
    assert using("", ["demo-micro/api-gateway:0.1.0"]) == []


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
