"""`python -m testbed registry up|down|status`: a real container registry for clusters the testbed
did not create, built offline and run as a container beside the kind nodes.

It is CNCF distribution's `registry` (built from the Go module proxy by `airgap/go/build.sh
registry`, in an image of its own: airgap/images/registry) run as one container on Docker's
`kind` network, published on the host's loopback so that the host pushes to it. Images carry the
host's name for it (`localhost:5001/demo-micro/api-gateway:0.1.0`); a kind node's containerd
reaches the same registry by the container's name on the `kind` network, through a `hosts.toml`
for that registry host in `/etc/containerd/certs.d/` (kind's local-registry pattern; containerd
reads the folder at each pull, no restart). The cluster's own containerd config must name the
folder (`config_path`): testbed/kind/external-cluster.yaml does, as a user's kind config would.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from kubepromises.waiting import NotYet, eventually
from testbed.settings import AIRGAP, Settings
from testbed.shell import CommandFailed, progress, run

#: The registry's container (the only container these commands start, stop or remove).
CONTAINER = "demo-micro-registry"
#: The registry's storage, a named Docker volume kept when the container is removed: a later
#: push sends only the layers it lacks (the ten images of the air-gapped overlay took 125-176 s
#: into an empty registry on 6 Dec 2026). `docker volume rm demo-micro-registry-data` frees it.
VOLUME = "demo-micro-registry-data"
#: Docker's network of kind's nodes: the registry joins it so that the nodes reach it by name.
NETWORK = "kind"
#: The port the registry listens on inside its container (airgap/images/registry/config.yml).
CONTAINER_PORT = 5000
#: The registry as the host names it: pushes go there, and images carry this name.
DEFAULT_ADDRESS = "localhost:5001"
#: Where containerd looks for a registry host's configuration (kind's local-registry pattern).
CERTS_D = "/etc/containerd/certs.d"
#: The manifest types a node's containerd asks for (Docker's and OCI's, single and lists).
MANIFEST_TYPES = ", ".join(
    (
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
    )
)
WAIT_SECONDS = 30


class RegistryError(RuntimeError):
    """The registry is not there, refuses a request, or lacks what is asked of it."""


def image(settings: Settings) -> str:
    """The registry's image, tagged with the distribution version it holds."""
    return f"demo-micro-airgap/registry:{settings.airgap['DISTRIBUTION_VERSION']}"


def parse_address(address: str) -> tuple[str, int]:
    """HOST:PORT as given on a command line; ValueError saying what is wrong otherwise."""
    host, colon, port = address.rpartition(":")
    if not colon or not host or "/" in address or not port.isdigit():
        raise ValueError(f"a registry is HOST:PORT (e.g. {DEFAULT_ADDRESS}), not {address!r}")
    if not 0 < int(port) < 65536:
        raise ValueError(f"{address}: the port must be 1-65535")
    return host, int(port)


def hosts_toml(in_network: str) -> str:
    """containerd's hosts.toml sending a registry host's pulls to `in_network` (HOST:PORT on
    the nodes' network), over plain HTTP."""
    return (
        "# Written by python -m testbed registry: pulls of this registry host go to the\n"
        "# registry's container on Docker's kind network.\n"
        f'[host."http://{in_network}"]\n'
        '  capabilities = ["pull", "resolve"]\n'
    )


def in_network_address() -> str:
    """The registry as kind's nodes reach it: its container's name on the `kind` network."""
    return f"{CONTAINER}:{CONTAINER_PORT}"


def build(settings: Settings) -> str:
    """The registry's image, built once per distribution version from `build.sh registry`'s
    static binary and airgap/images/registry (FROM scratch: nothing is pulled)."""
    name = image(settings)
    if _docker_has(name):
        return name
    started = time.monotonic()
    binaries = Path(
        run(
            [str(AIRGAP / "go" / "build.sh"), "registry"], timeout=3600, what="Go build of registry"
        )
        .strip()
        .splitlines()[-1]
    )
    with tempfile.TemporaryDirectory(prefix="demo-micro-registry-") as tmp:
        context = Path(tmp)
        shutil.copytree(AIRGAP / "images" / "registry", context, dirs_exist_ok=True)
        shutil.copy(binaries / "registry", context / "registry")
        run(["docker", "build", "-q", "-t", name, str(context)], timeout=600, what=f"build {name}")
    progress(f"{name} built in {time.monotonic() - started:.0f} s")
    return name


def _docker_has(name: str) -> bool:
    try:
        run(["docker", "image", "inspect", name], timeout=60, what=f"docker image inspect {name}")
    except CommandFailed:
        return False
    return True


def container_state() -> str:
    """The registry container's state (`running`, `exited`, ...), or `absent`."""
    try:
        out = run(
            ["docker", "inspect", "-f", "{{.State.Status}}", CONTAINER],
            timeout=60,
            what="docker inspect",
        )
    except CommandFailed:
        return "absent"
    return out.strip()


def up(settings: Settings, address: str = DEFAULT_ADDRESS) -> str:
    """Start the registry (building its image when missing) unless it runs; its address."""
    _, port = parse_address(address)
    state = container_state()
    if state == "running":
        progress(f"registry {CONTAINER} already running")
    else:
        if state != "absent":
            run(["docker", "rm", "-f", CONTAINER], timeout=60, what=f"remove {CONTAINER}")
        name = build(settings)
        _ensure_network()
        run(
            [
                "docker",
                "run",
                "-d",
                "--name",
                CONTAINER,
                "--network",
                NETWORK,
                "-p",
                f"127.0.0.1:{port}:{CONTAINER_PORT}",
                "-v",
                f"{VOLUME}:/var/lib/registry",
                name,
            ],
            timeout=120,
            what=f"start {CONTAINER}",
        )
        progress(
            f"registry {CONTAINER} started: {address} on the host, {in_network_address()} "
            f"on Docker's {NETWORK} network"
        )
    Registry(address).wait_answering(WAIT_SECONDS)
    return address


def _ensure_network() -> None:
    """Docker's `kind` network (kind creates it with the first cluster; created here when the
    registry comes first, as kind's local-registry recipe allows)."""
    listed = run(["docker", "network", "ls", "--format", "{{.Name}}"], timeout=60, what="networks")
    if NETWORK not in listed.split():
        run(["docker", "network", "create", NETWORK], timeout=60, what=f"network {NETWORK}")


def down() -> None:
    """Stop and remove the registry container (what was pushed stays in its volume)."""
    if container_state() == "absent":
        progress(f"no registry container {CONTAINER}")
        return
    run(["docker", "rm", "-f", CONTAINER], timeout=120, what=f"remove {CONTAINER}")
    progress(f"registry {CONTAINER} removed; what was pushed stays in the volume {VOLUME}")


def configure_kind_nodes(cluster: str, kind: Path, address: str = DEFAULT_ADDRESS) -> list[str]:
    """Write the registry's hosts.toml into every node of kind cluster `cluster` (what a user
    does by hand after `kind create cluster`, docs/cluster.md); the nodes' names."""
    parse_address(address)
    nodes = run([str(kind), "get", "nodes", f"--name={cluster}"], timeout=60, what="kind nodes")
    names = nodes.split()
    if not names:
        raise RegistryError(f"kind cluster {cluster!r} has no nodes (`kind get clusters`)")
    folder = f"{CERTS_D}/{address}"
    for node in names:
        run(["docker", "exec", node, "mkdir", "-p", folder], timeout=60, what=f"mkdir on {node}")
        run(
            ["docker", "exec", "-i", node, "cp", "/dev/stdin", f"{folder}/hosts.toml"],
            timeout=60,
            what=f"hosts.toml on {node}",
            stdin=hosts_toml(in_network_address()).encode(),
        )
    progress(f"{folder}/hosts.toml written on {', '.join(names)}")
    return names


def push(images: Iterable[str], address: str) -> dict[str, str]:
    """`docker tag` and `docker push` of each local image to the registry; local → pushed name."""
    pushed = {}
    for local in images:
        remote = f"{address}/{local}"
        run(["docker", "tag", local, remote], timeout=60, what=f"docker tag {local}")
        run(["docker", "push", "-q", remote], timeout=900, what=f"docker push {remote}")
        pushed[local] = remote
    progress(f"{len(pushed)} images pushed to {address}")
    return pushed


@dataclass(frozen=True)
class Held:
    """What the registry holds under one tag: its manifest's digest and its config's."""

    manifest: str
    config: str


class Registry:
    """The registry's HTTP API (distribution's /v2/), as the host reaches it."""

    def __init__(self, address: str) -> None:
        parse_address(address)
        self.address = address

    def _get(self, path: str, accept: str = "application/json") -> tuple[dict[str, str], bytes]:
        request = urllib.request.Request(
            f"http://{self.address}/v2/{path}", headers={"Accept": accept}
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            return dict(answer.headers.items()), answer.read()

    def answers(self) -> str:
        """ "Empty when /v2/ answers, else why not."""
        try:
            self._get("")
        except (urllib.error.URLError, OSError) as why:
            return f"http://{self.address}/v2/ does not answer: {why}"
        return ""

    def wait_answering(self, seconds: float) -> None:
        """Until /v2/ answers (the project's one bounded wait); RegistryError saying why not."""

        def answering() -> None:
            if why := self.answers():
                raise NotYet(why)

        try:
            eventually(answering, timeout=seconds, what=f"the registry at {self.address}")
        except AssertionError as timed_out:
            raise RegistryError(f"{timed_out} (`docker logs {CONTAINER}`)") from None

    def tags(self, repository: str) -> set[str]:
        """The tags of a repository; none when the registry does not know it."""
        try:
            _, body = self._get(f"{repository}/tags/list")
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return set()
            raise RegistryError(
                f"{self.address}: tags of {repository}: HTTP {error.code}"
            ) from None
        return set(json.loads(body).get("tags") or [])

    def held(self, repository: str, tag: str) -> Held:
        """The digests of the image the registry holds under repository:tag."""
        headers, body = self._get(f"{repository}/manifests/{tag}", MANIFEST_TYPES)
        manifest = json.loads(body)
        config = manifest.get("config", {}).get("digest", "")
        return Held(headers.get("Docker-Content-Digest", ""), config)


def split_reference(reference: str) -> tuple[str, str]:
    """`name:tag` → (name, tag); the registry host, when the name has one, stays in the name."""
    name, colon, tag = reference.rpartition(":")
    if not colon or "/" in tag:
        raise ValueError(f"{reference!r} names no tag")
    return name, tag


def missing(images: Sequence[str], registry: Registry) -> list[str]:
    """The images (`name:tag`, local names) that the registry does not hold."""
    absent = []
    for reference in images:
        name, tag = split_reference(reference)
        if tag not in registry.tags(name):
            absent.append(reference)
    return absent


def status() -> str:
    """The container's state and, running, where the host and the nodes reach it."""
    state = container_state()
    if state != "running":
        return f"registry {CONTAINER}: {state}"
    published = run(
        ["docker", "port", CONTAINER, str(CONTAINER_PORT)], timeout=60, what="docker port"
    ).split()
    return (
        f"registry {CONTAINER}: running, {', '.join(published)} on the host, "
        f"{in_network_address()} on Docker's {NETWORK} network"
    )
