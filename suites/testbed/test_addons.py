"""The add-ons the testbed installs name images it has: every placeholder filled, and offline
every image either preloaded in the node image or loaded into the nodes."""

from __future__ import annotations

import pytest
import yaml

from testbed import images
from testbed.settings import Settings


def container_images(manifest: str) -> set[str]:
    found = set()
    for document in yaml.safe_load_all(manifest):
        if document and document.get("kind") in {"Deployment", "DaemonSet"}:
            pod = document["spec"]["template"]["spec"]
            found |= {c["image"] for c in pod.get("initContainers", []) + pod["containers"]}
    return found


def addon_images(*, offline: bool, settings: Settings) -> set[str]:
    return set().union(
        *(
            container_images(images.render_addon(name, offline=offline, settings=settings))
            for name in images.addon_manifests(offline=offline)
        )
    )


@pytest.mark.parametrize("offline", [True, False], ids=["offline", "online"])
def test_every_addon_image_placeholder_is_filled(offline: bool) -> None:
    used = addon_images(offline=offline, settings=Settings.from_env())
    assert used
    assert not [image for image in used if image.endswith("_IMAGE")]


def test_offline_every_addon_image_is_preloaded_or_loaded() -> None:
    settings = Settings.from_env()
    loaded = set(images.offline_images_to_load(settings))
    # metrics-server is preloaded into the node image (airgap/images/build-node-image.sh)
    preloaded = images.offline_addon_images(settings)["METRICS_SERVER_IMAGE"]
    used = addon_images(offline=True, settings=settings)
    assert used - {preloaded} <= loaded


def test_networkpolicy_enforcement_is_installed_offline_only() -> None:
    # flannel enforces no NetworkPolicy; online, kind's kindnetd does
    assert "kube-router.yaml" in images.addon_manifests(offline=True)
    assert "kube-router.yaml" not in images.addon_manifests(offline=False)


def test_the_api_server_reaches_metrics_server_at_its_pod_not_its_cluster_ip() -> None:
    """The aggregator routes the metrics API to metrics-server's endpoints (through the
    cluster IP, a connection opened before kube-proxy had
    programmed it stayed broken, and the APIService answered 404 for the whole run)."""
    config = yaml.safe_load(Settings.from_env().kind_config.read_text())
    patches = [yaml.safe_load(patch) for patch in config.get("kubeadmConfigPatches", [])]
    api_server_args = {
        name: value
        for patch in patches
        if patch.get("kind") == "ClusterConfiguration"
        for name, value in patch.get("apiServer", {}).get("extraArgs", {}).items()
    }
    assert api_server_args.get("enable-aggregator-routing") == "true", api_server_args
