"""The workers' node image that holds the dependency images (testbed/preloading.py): named after
exactly what it holds, given to the workers only, and accepted when a cluster is reused."""

import yaml

from testbed.cluster import stale_problem
from testbed.preloading import is_node_image, preloaded_tag, with_node_images
from testbed.settings import Settings

NODE = "demo-micro-airgap/kind-node:v9.9.9"
IMAGES = {"demo-micro-airgap/postgres:15": "sha256:aa", "demo-micro-airgap/moto:5.2.5": "sha256:bb"}


def test_the_worker_image_is_named_after_the_node_image_and_what_it_holds() -> None:
    tag = preloaded_tag(NODE, "sha256:node", IMAGES)

    assert tag.startswith(f"{NODE}-with-")
    assert tag == preloaded_tag(NODE, "sha256:node", dict(reversed(IMAGES.items())))


def test_a_rebuilt_dependency_image_or_node_image_gets_another_worker_image() -> None:
    tag = preloaded_tag(NODE, "sha256:node", IMAGES)
    rebuilt = {**IMAGES, "demo-micro-airgap/moto:5.2.5": "sha256:cc"}
    added = {**IMAGES, "demo-micro-airgap/redis:7": "sha256:dd"}

    assert preloaded_tag(NODE, "sha256:node", rebuilt) != tag
    assert preloaded_tag(NODE, "sha256:node", added) != tag
    assert preloaded_tag(NODE, "sha256:other-node", IMAGES) != tag


def test_only_the_workers_run_the_worker_image_and_the_rest_of_the_config_stays() -> None:
    base = Settings.from_env().kind_config.read_text()

    config = yaml.safe_load(with_node_images(base, NODE, f"{NODE}-with-abc"))

    images = {(node["role"], node["image"]) for node in config["nodes"]}
    assert images == {("control-plane", NODE), ("worker", f"{NODE}-with-abc")}
    assert [node["role"] for node in config["nodes"]] == ["control-plane", "worker", "worker"]
    without_images = [{k: v for k, v in n.items() if k != "image"} for n in config["nodes"]]
    assert {**config, "nodes": without_images} == yaml.safe_load(base)


def test_a_cluster_whose_workers_run_a_worker_image_of_this_node_image_is_reused() -> None:
    nodes = {
        "demo-micro-control-plane": (True, NODE),
        "demo-micro-worker": (True, f"{NODE}-with-abc"),
    }

    assert stale_problem("demo-micro", nodes, NODE) == ""


def test_negative_control_a_worker_image_of_another_node_image_is_refused() -> None:
    other = "kindest/node:v9.9.8"
    nodes = {
        "demo-micro-control-plane": (True, NODE),
        "demo-micro-worker": (True, f"{other}-with-abc"),
    }

    assert not is_node_image(f"{other}-with-abc", NODE)
    assert not is_node_image(f"{NODE}-other", NODE)
    assert f"{other}-with-abc" in stale_problem("demo-micro", nodes, NODE)
