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
