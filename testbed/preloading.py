"""A worker node image that already holds the dependency images, so a new cluster imports only
the service images.

Importing the 2.1 GiB of stand-ins and add-ons into both workers was the longest step of a
warm bring-up (96-101 s of 248 s on 3 Dec 2026): `ctr images import` streamed through
`docker exec` keeps both cores busy. A node's `/var` (where containerd keeps its images) is an
anonymous volume that Docker fills from the node image when the node is created, a plain file
copy (1 GiB in about 6 s here). So the images are imported once into a container of the node
image, which is committed as the workers' image, named after the node image and the dependency
images it holds: it is rebuilt only when one of them changes. The control plane runs no pods
of ours and keeps the plain node image. Kubernetes still sees images imported into containerd,
as kind preloads its own (airgap/images/build-node-image.sh).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

import yaml

from testbed.archives import IMPORT, Archive, import_archive
from testbed.shell import CommandFailed, progress, run

#: Between the node image's tag and the digest of the images a worker image holds.
PRELOADED = "-with-"
BUILDER = "demo-micro-preloading"


def preloaded_tag(node_image: str, node_image_id: str, images: Mapping[str, str]) -> str:
    """The worker image's name: the node image's, and a digest of the node image's ID and of
    the dependency images' names and IDs (`images`)."""
    content = f"{node_image} {node_image_id}\n{' '.join(IMPORT)}\n"
    content += "".join(f"{image} {images[image]}\n" for image in sorted(images))
    return f"{node_image}{PRELOADED}{hashlib.sha256(content.encode()).hexdigest()[:12]}"


def is_node_image(image: str, node_image: str) -> bool:
    """Whether a node runs `node_image` itself or a worker image derived from it."""
    return image == node_image or image.startswith(f"{node_image}{PRELOADED}")


def with_node_images(config: str, control_plane: str, worker: str) -> str:
    """The kind cluster config `config` with each node's image set: `control_plane` for the
    control plane, `worker` for the workers. (kind's `--image` would set all nodes alike.)"""
    cluster = yaml.safe_load(config)
    for node in cluster["nodes"]:
        node["image"] = control_plane if node["role"] == "control-plane" else worker
    return str(yaml.safe_dump(cluster, sort_keys=False))


def _docker(*args: str, timeout: float = 120) -> str:
    return run(["docker", *args], timeout=timeout, what=f"docker {args[0]}")


def exists(image: str) -> bool:
    try:
        _docker("image", "inspect", "-f", "{{.Id}}", image)
    except CommandFailed:
        return False
    return True


def build_worker_image(node_image: str, archive: Archive, images: Mapping[str, str]) -> str:
    """The worker image holding `archive`'s images (`images`: name → image ID), built unless
    it exists; older worker images of `node_image` are removed (those a cluster still runs
    stay)."""
    node_image_id = _docker("image", "inspect", "-f", "{{.Id}}", node_image).strip()
    tag = preloaded_tag(node_image, node_image_id, images)
    if exists(tag):
        progress(f"worker image {tag} holds the {len(images)} dependency images")
        return tag
    progress(f"building {tag}: {node_image} with the {len(images)} dependency images")
    entrypoint = _docker("image", "inspect", "-f", "{{json .Config.Entrypoint}}", node_image)
    cmd = _docker("image", "inspect", "-f", "{{json .Config.Cmd}}", node_image)
    run(["docker", "rm", "-f", BUILDER], timeout=60, what="docker rm of an earlier builder")
    # `--init` reaps containerd once it is stopped (a zombie would look alive to pgrep).
    _docker(
        "run", "-d", "--init", "--privileged", "--name", BUILDER, "--entrypoint", "/bin/sleep",
        node_image, "infinity",
    )  # fmt: skip
    try:
        _docker(
            "exec", BUILDER, "bash", "-c",
            "containerd >/tmp/containerd.log 2>&1 & for i in $(seq 1 100); do "
            "ctr version >/dev/null 2>&1 && exit 0; sleep 0.2; done; cat /tmp/containerd.log; "
            "exit 1",
        )  # fmt: skip
        import_archive(BUILDER, archive)
        _docker(
            "exec", BUILDER, "bash", "-c",
            "pkill containerd; while pgrep -x containerd >/dev/null; do sleep 0.2; done; "
            "rm -f /tmp/containerd.log",
        )  # fmt: skip
        # The node image's own entrypoint and command, which the builder's `sleep` replaced.
        _docker(
            "commit",
            "--change", f"ENTRYPOINT {entrypoint.strip()}",
            "--change", f"CMD {cmd.strip() if cmd.strip() != 'null' else '[]'}",
            BUILDER, tag,
            timeout=900,
        )  # fmt: skip
    finally:
        run(["docker", "rm", "-f", BUILDER], timeout=120, what="docker rm of the builder")
    remove_older(node_image, keep=tag)
    return tag


def remove_older(node_image: str, keep: str) -> None:
    """Remove the worker images of `node_image` other than `keep`, but those in use."""
    repository = node_image.rsplit(":", 1)[0]
    listing = _docker("image", "ls", "--format", "{{json .}}", repository)
    for line in listing.splitlines():
        row = json.loads(line)
        image = f"{row['Repository']}:{row['Tag']}"
        if image != keep and image.startswith(f"{node_image}{PRELOADED}"):
            try:
                _docker("image", "rm", image)
            except CommandFailed:
                progress(f"keeping {image}: a cluster's node still runs it")
