"""`python -m testbed attach`: the overlay rendered with the registry's names, the gateway's
address read from the cluster's objects, the pods' images checked against the registry, and bad
input refused before anything is pushed or applied. Each check with its negative control."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
from kubernetes import client

from kubepromises.manifests import kustomize_on_path
from testbed import attach
from testbed.__main__ import parser
from testbed.cluster import SetupError, Testbed
from testbed.registry import Held, RegistryError, hosts_toml, parse_address
from testbed.settings import REPO, Settings

REGISTRY = "localhost:5001"
OFFLINE = REPO / "manifests" / "overlays" / "offline"
SETTINGS = Settings(mode="offline")


def pushed(images: Sequence[str]) -> dict[str, str]:
    return {image: f"{REGISTRY}/{image}" for image in images}


def kustomize() -> list[str]:
    found = kustomize_on_path()
    assert found, "needs kubectl or kustomize on PATH (the static suites do too)"
    return found


def test_the_overlay_is_rendered_with_the_registrys_name_for_every_image_it_runs() -> None:
    wanted = attach.overlay_images(SETTINGS)
    folder, objects = attach.render_with_registry(OFFLINE, pushed(wanted), REGISTRY, kustomize())
    rendered = attach.container_images(objects)
    assert sorted(rendered) == sorted(pushed(wanted).values())
    # The overlay itself is untouched: the kustomization lives in a folder of its own.
    assert OFFLINE not in folder.parents
    assert folder.parent != REPO / "manifests"


def test_an_image_the_drawing_names_but_the_registry_lacks_is_an_error_naming_it() -> None:
    # The control: the drawing's redis stand-in left out of what was pushed.
    wanted = attach.overlay_images(SETTINGS)
    redis = next(image for image in wanted if "/redis:" in image)
    short = pushed([image for image in wanted if image != redis])
    with pytest.raises(RegistryError, match=redis):
        attach.render_with_registry(OFFLINE, short, REGISTRY, kustomize())


class FakeRegistry:
    """The tags a registry holds, without HTTP."""

    def __init__(self, tags: dict[str, set[str]]) -> None:
        self.address = REGISTRY
        self.held_tags = tags

    def tags(self, repository: str) -> set[str]:
        return self.held_tags.get(repository, set())


def test_every_pushed_image_is_found_in_the_registry_and_a_missing_one_is_named() -> None:
    wanted = ["demo-micro/api-gateway:0.1.0", "demo-micro-airgap/redis:7"]
    full = FakeRegistry({"demo-micro/api-gateway": {"0.1.0"}, "demo-micro-airgap/redis": {"7"}})
    attach.check_held(wanted, full)  # type: ignore[arg-type]
    # The control: the registry holds another tag of redis only.
    lacking = FakeRegistry({"demo-micro/api-gateway": {"0.1.0"}, "demo-micro-airgap/redis": {"6"}})
    with pytest.raises(RegistryError, match="demo-micro-airgap/redis:7") as caught:
        attach.check_held(wanted, lacking)  # type: ignore[arg-type]
    assert "api-gateway" not in str(caught.value)


def node(name: str, *, ready: bool = True, address: str | None = "172.18.0.5") -> client.V1Node:
    addresses = [client.V1NodeAddress(type="Hostname", address=name)]
    if address:
        addresses.append(client.V1NodeAddress(type="InternalIP", address=address))
    condition = client.V1NodeCondition(type="Ready", status="True" if ready else "False")
    return client.V1Node(
        metadata=client.V1ObjectMeta(name=name),
        status=client.V1NodeStatus(addresses=addresses, conditions=[condition]),
    )


def node_port_service(port: int = 31234, kind: str = "NodePort") -> client.V1Service:
    return client.V1Service(
        metadata=client.V1ObjectMeta(name=attach.GATEWAY_NODE_PORT),
        spec=client.V1ServiceSpec(
            type=kind, ports=[client.V1ServicePort(port=8080, node_port=port)]
        ),
    )


def test_the_gateway_is_the_services_node_port_on_a_ready_nodes_internal_address() -> None:
    nodes = [node("b-worker", address="172.18.0.7"), node("a-down", ready=False)]
    assert attach.gateway_address(node_port_service(), nodes) == "http://172.18.0.7:31234"


def test_no_node_address_is_a_clear_error() -> None:
    # The control: Ready nodes without an InternalIP, and a node with one that is not Ready.
    nodes = [node("worker", address=None), node("other", ready=False, address="172.18.0.9")]
    with pytest.raises(SetupError, match="no Ready node with an InternalIP address"):
        attach.gateway_address(node_port_service(), nodes)


def test_a_service_without_a_node_port_is_a_clear_error() -> None:
    with pytest.raises(SetupError, match="no node port"):
        attach.gateway_address(node_port_service(kind="ClusterIP"), [node("worker")])


HELD = Held(manifest="sha256:" + "a" * 64, config="sha256:" + "c" * 64)


def pod(image: str, image_id: str) -> client.V1Pod:
    return client.V1Pod(
        metadata=client.V1ObjectMeta(
            name="api-gateway-5d9-x1",
            labels={"pod-template-hash": "5d9"},
            owner_references=[
                client.V1OwnerReference(
                    api_version="apps/v1", kind="ReplicaSet", name="api-gateway-5d9", uid="u"
                )
            ],
        ),
        status=client.V1PodStatus(
            container_statuses=[
                client.V1ContainerStatus(
                    name="api-gateway",
                    image=image,
                    image_id=image_id,
                    ready=True,
                    restart_count=0,
                )
            ]
        ),
    )


def held_of(name: str, tag: str) -> Held:
    assert (name, tag) == ("demo-micro/api-gateway", "0.1.0")
    return HELD


def test_a_pod_running_the_registrys_build_is_not_stale() -> None:
    image = f"{REGISTRY}/demo-micro/api-gateway:0.1.0"
    by_manifest = pod(image, f"{REGISTRY}/demo-micro/api-gateway@{HELD.manifest}")
    by_config = pod(image, HELD.config)
    assert attach.unlike_registry([by_manifest, by_config], REGISTRY, held_of) == {}


def test_a_pod_running_another_build_or_an_image_from_elsewhere_is_named() -> None:
    # The controls: another digest under the registry's tag, and an image not from the registry.
    image = f"{REGISTRY}/demo-micro/api-gateway:0.1.0"
    other = pod(image, f"{REGISTRY}/demo-micro/api-gateway@sha256:{'b' * 64}")
    local = pod("demo-micro/api-gateway:0.1.0", HELD.manifest)
    found = attach.unlike_registry([other, local], REGISTRY, held_of)
    assert list(found) == ["deployment/api-gateway"]
    said = found["deployment/api-gateway"]
    assert "b" * 64 in said[0]
    assert HELD.manifest in said[0]
    assert f"not from {REGISTRY}" in said[1]


def test_the_nodes_are_told_to_pull_the_registry_host_from_the_registrys_container() -> None:
    assert '[host."http://demo-micro-registry:5000"]' in hosts_toml("demo-micro-registry:5000")
    assert parse_address(REGISTRY) == ("localhost", 5001)
    for bad in ("localhost", "http://localhost:5001", "localhost:port", "localhost:70000"):
        with pytest.raises(ValueError, match=r"HOST:PORT|1-65535"):
            parse_address(bad)


def test_attach_without_a_registry_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        parser().parse_args(["attach", "--kubeconfig", "some/kubeconfig"])
    assert exited.value.code == 2
    assert "--registry" in capsys.readouterr().err


def never_deploy(target: attach.Target, settings: Settings) -> str:
    raise AssertionError("deployed although the input was bad")


def test_a_kubeconfig_that_does_not_exist_is_refused_before_anything_changes(
    tmp_path: Path,
) -> None:
    with pytest.raises(attach.BadInput, match="no such file"):
        attach.main(
            tmp_path / "absent",
            context=None,
            registry=REGISTRY,
            settings=SETTINGS,
            deploy_with=never_deploy,
        )


def kubeconfig(path: Path, server: str, context: str = "elsewhere") -> Path:
    path.write_text(
        "apiVersion: v1\nkind: Config\n"
        f"current-context: {context}\n"
        f"contexts: [{{name: {context}, context: {{cluster: c, user: u}}}}]\n"
        f"clusters: [{{name: c, cluster: {{server: '{server}'}}}}]\n"
        "users: [{name: u, user: {token: t}}]\n"
    )
    return path


def test_an_unreachable_cluster_is_refused_before_anything_changes(tmp_path: Path) -> None:
    # Port 1 on loopback: nothing listens there, the connection is refused at once.
    config = kubeconfig(tmp_path / "kubeconfig", "https://127.0.0.1:1")
    with pytest.raises(
        attach.BadInput, match=r"the cluster at https://127.0.0.1:1 does not answer"
    ):
        attach.main(
            config, context=None, registry=REGISTRY, settings=SETTINGS, deploy_with=never_deploy
        )


def test_a_context_the_kubeconfig_lacks_is_refused(tmp_path: Path) -> None:
    config = kubeconfig(tmp_path / "kubeconfig", "https://127.0.0.1:1")
    with pytest.raises(attach.BadInput, match=r"no context 'other'.*elsewhere"):
        attach.main(
            config, context="other", registry=REGISTRY, settings=SETTINGS, deploy_with=never_deploy
        )


def test_a_malformed_registry_is_refused(tmp_path: Path) -> None:
    config = kubeconfig(tmp_path / "kubeconfig", "https://127.0.0.1:1")
    with pytest.raises(attach.BadInput, match="--registry"):
        attach.main(
            config, context=None, registry="localhost", settings=SETTINGS, deploy_with=never_deploy
        )


def test_the_reduced_kubeconfig_keeps_the_chosen_context_only(tmp_path: Path) -> None:
    config = kubeconfig(tmp_path / "kubeconfig", "https://127.0.0.1:1")
    out = tmp_path / "out"
    out.mkdir()
    reduced = attach.single_context(config, "elsewhere", out).read_text()
    assert "current-context: elsewhere" in reduced
    assert "https://127.0.0.1:1" in reduced
    assert (out / "kubeconfig").stat().st_mode & 0o077 == 0


def test_an_attached_target_refuses_the_testbeds_lifecycle(tmp_path: Path) -> None:
    # `down` on a target must never reach kind (the testbed's cluster shares the host).
    target = attach.Target(SETTINGS, tmp_path / "kubeconfig", None)  # type: ignore[arg-type]
    assert isinstance(target, Testbed)
    for step in (target.down, target.up):
        with pytest.raises(SetupError, match="not an attached target's"):
            step()


def test_a_target_without_its_registry_is_a_usage_error() -> None:
    # What the pods run is checked against the registry: a target without one is refused.
    done = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--collect-only", "-q"),
            *("suites/smoke", "--target-kubeconfig", "some/kubeconfig"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == pytest.ExitCode.USAGE_ERROR, done.stdout + done.stderr
    assert "--target-kubeconfig and --target-registry go together" in done.stderr
