"""Building the images the testbed runs: the four services, and offline the stand-ins and node."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from testbed import lock
from testbed.lock import LOCK
from testbed.settings import AIRGAP, DRAWING, REPO, SERVICES, Settings
from testbed.shell import CommandFailed, progress, run

ONLINE_PYTHON_BASE = "python:3.11-slim-bookworm"
OFFLINE_PYTHON_BASE = "demo-micro-airgap/python:3.11-bookworm"

#: The add-ons' manifests (metrics-server, Traefik, kube-router), image placeholders unfilled.
ADDONS = REPO / "testbed" / "addons"


def _ingress_service() -> dict[str, Any]:
    """The ingress controller's Service, as its add-on writes it."""
    documents = yaml.safe_load_all((ADDONS / "traefik.yaml").read_text())
    service: dict[str, Any] = next(d for d in documents if d and d["kind"] == "Service")
    return service


def _ingress_port(name: str) -> dict[str, Any]:
    port: dict[str, Any] = next(p for p in _ingress_service()["spec"]["ports"] if p["name"] == name)
    return port


def ingress_node_port(name: str) -> int:
    """The ingress controller's node port `name` (web, websecure), from its add-on's Service:
    written there only (the kind config maps it to the host, which a test checks)."""
    return int(_ingress_port(name)["nodePort"])


def ingress_address(name: str) -> tuple[str, int]:
    """The ingress controller's Service in the cluster (its DNS name) and its port `name`, from
    its add-on's Service."""
    meta = _ingress_service()["metadata"]
    return f"{meta['name']}.{meta['namespace']}.svc.cluster.local", int(_ingress_port(name)["port"])


def offline_drawing_images() -> list[str]:
    """The air-gapped images the drawing names for what its air-gapped overlays deploy, besides
    the services: the stand-ins (airgap/images/build-deps.sh) and the log path's images
    (build-logging.sh), each once."""
    pieces = {piece for o in DRAWING.overlays if o.air_gapped for piece in o.pieces}
    named = [w.image.offline for w in DRAWING.dependencies if w.piece in pieces and w.image]
    named += [agent.image for agent in DRAWING.node_agents if agent.piece in pieces]
    return list(dict.fromkeys(image for image in named if image is not None))


def offline_addon_images(settings: Settings) -> dict[str, str]:
    """Add-on placeholder → the air-gapped image that fills it."""
    traefik = settings.airgap["TRAEFIK_VERSION"]
    metrics_server = settings.airgap["METRICS_SERVER_VERSION"]
    kube_router = settings.airgap["KUBE_ROUTER_VERSION"]
    return {
        "TRAEFIK_IMAGE": f"demo-micro-airgap/traefik:{traefik}",
        "METRICS_SERVER_IMAGE": f"demo-micro-airgap/metrics-server:{metrics_server}",
        "KUBE_ROUTER_IMAGE": f"demo-micro-airgap/kube-router:{kube_router}",
    }


def offline_logging_images(settings: Settings) -> list[str]:
    """The offline log path (airgap/images/build-logging.sh): OpenSearch and the log shipper."""
    opensearch = settings.airgap["OPENSEARCH_VERSION"]
    rsyslog = settings.airgap["RSYSLOG_VERSION"]
    return [
        f"demo-micro-airgap/opensearch:{opensearch}",
        f"demo-micro-airgap/log-shipper:{rsyslog}",
    ]


ONLINE_ADDON_IMAGES = {
    "TRAEFIK_IMAGE": "traefik:v3.6.12",
    "METRICS_SERVER_IMAGE": "registry.k8s.io/metrics-server/metrics-server:v0.8.0",
}


def python_base(*, offline: bool) -> str:
    """The Python image the images built here start from, in the testbed's mode."""
    return OFFLINE_PYTHON_BASE if offline else ONLINE_PYTHON_BASE


def build_image(
    image: str, context: Path, *, base: str, build_args: Mapping[str, str] | None = None
) -> str:
    """`docker build` of `context` into `image`, on the Python base `base` (the Dockerfile's
    BASE_IMAGE build argument) with `build_args` besides; the image's name."""
    progress(f"building {image} on {base}")
    arguments = {"BASE_IMAGE": base, **(build_args or {})}
    flags = [flag for item in arguments.items() for flag in ("--build-arg", "=".join(item))]
    run(
        ["docker", "build", "-q", "-t", image, *flags, str(context)],
        timeout=900,
        what=f"docker build of {image}",
    )
    return image


def dependency_wheels(settings: Settings) -> Path:
    """Wheels of the services' dependencies at requirements.lock's versions, fetched on the host
    once per lock and `system` extra."""
    return extra_wheels(settings, "system")


def extra_wheels(settings: Settings, extra: str) -> Path:
    """Wheels of pyproject's extra `extra` at requirements.lock's versions, fetched on the host
    once per lock and extra (the services' `system`; the load image's `load`)."""
    requirements = extra_requirements(extra)
    digest = hashlib.sha256(LOCK.read_bytes() + "\n".join(requirements).encode())
    wheels = settings.cache / "wheels" / f"{extra}-{digest.hexdigest()[:12]}"
    if not (wheels / ".complete").exists():
        progress(f"fetching the {extra} extra's wheels into {wheels}, at the lock's versions")
        wheels.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="demo-micro-pins-") as tmp:
            constraints = Path(tmp) / "pins.txt"
            constraints.write_text(lock.pins(LOCK.read_text()))
            download = [sys.executable, "-m", "pip", "download", "-q", "-d", str(wheels)]
            run(
                [*download, "-c", str(constraints), *requirements],
                timeout=900,
                what=f"pip download of the {extra} extra",
            )
        (wheels / ".complete").touch()
    return wheels


def service_requirements() -> list[str]:
    """The services' run-time requirements (pyproject's `system` extra)."""
    return extra_requirements("system")


def extra_requirements(extra: str) -> list[str]:
    """The requirements of one of pyproject's extras."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    requirements: list[str] = project["project"]["optional-dependencies"][extra]
    return requirements


def build_service_images(settings: Settings, *, offline: bool) -> list[str]:
    """Build demo-micro/<service>:<version> for the four services from one Dockerfile."""
    base = python_base(offline=offline)
    wheels = dependency_wheels(settings)
    with tempfile.TemporaryDirectory(prefix="demo-micro-images-") as tmp:
        context = Path(tmp)
        shutil.copytree(wheels, context / "wheels", ignore=shutil.ignore_patterns(".complete"))
        # The lock's entries of exactly these wheels: the image installs them --require-hashes.
        (context / "requirements.lock").write_text(lock.for_wheels(LOCK.read_text(), wheels))
        run(
            [
                sys.executable,
                "-m",
                "pip",
                "wheel",
                "-q",
                "--no-deps",
                "-w",
                str(context / "project"),
                str(REPO),
            ],
            timeout=300,
            what="building the demo-micro wheel",
        )
        shutil.copy(REPO / "system" / "Dockerfile", context / "Dockerfile")
        return [
            build_image(
                settings.service_image(service),
                context,
                base=base,
                build_args={"SERVICE": service.replace("-", "_")},
            )
            for service in SERVICES
        ]


#: The locust image of the distributed load (suites/load/distributed.py): built only when a load
#: run asks for workers, never by `build` or `up`.
LOAD_DOCKERFILE = REPO / "suites" / "load" / "image" / "Dockerfile"


def load_image(settings: Settings) -> str:
    """The name the load image is built and loaded as (never pulled)."""
    return f"demo-micro/load:{settings.version}"


def build_load_image(settings: Settings, *, offline: bool) -> str:
    """Build the load image as the services' are built: the Python base of the testbed's mode,
    the `load` extra's wheels (locust) from the wheel cache installed --require-hashes, and the
    scenarios (scenarios/) the master and the workers import."""
    wheels = extra_wheels(settings, "load")
    with tempfile.TemporaryDirectory(prefix="demo-micro-load-image-") as tmp:
        context = Path(tmp)
        shutil.copytree(wheels, context / "wheels", ignore=shutil.ignore_patterns(".complete"))
        (context / "requirements.lock").write_text(lock.for_wheels(LOCK.read_text(), wheels))
        shutil.copytree(
            REPO / "scenarios",
            context / "scenarios",
            ignore=shutil.ignore_patterns("__pycache__"),
        )
        shutil.copy(LOAD_DOCKERFILE, context / "Dockerfile")
        return build_image(load_image(settings), context, base=python_base(offline=offline))


#: Go builds started first, before the Debian base: Kubernetes' and Traefik's cold builds take
#: ~13-18 min each (docs/cluster.md) and need nothing but Go and the module proxy, so side by side
#: they overlap each other and everything built after them. The node image's own call of
#: `airgap/go/build.sh kubernetes` waits for the build under way and reuses it (the testbed's
#: kubectl is that build's too); kube-router, which the node image does not need, comes along.
FIRST_GO_BUILDS = ("kubernetes", "traefik", "kube-router")


def build_offline_images(settings: Settings) -> list[str]:
    """Build (or reuse from the cache) the node image and the dependency stand-ins.

    The longest Go builds start first (FIRST_GO_BUILDS); then the Debian base (every image
    builds on it); then the node image with the stand-ins beside it: cold, the stand-ins' apt
    and pip work fills the cores the node image's small Go builds leave idle, and where the node
    image or a stand-in needs a Go build under way, `airgap/go/build.sh` waits for it and reuses
    it.
    """
    progress(
        f"air-gapped images: the Go builds of {', '.join(FIRST_GO_BUILDS)} at once, the Debian "
        "base, then the node image with the dependency stand-ins beside it "
        "(cold: tens of minutes; cached)"
    )
    beside = {
        f"Go build of {name}": subprocess.Popen(
            [str(AIRGAP / "go" / "build.sh"), name],
            stdout=subprocess.DEVNULL,  # the binaries' folder; its users ask again
            start_new_session=True,  # so that a failure elsewhere can stop the whole build
        )
        for name in FIRST_GO_BUILDS
    }
    try:
        run(
            [str(AIRGAP / "images" / "build-debian-base.sh")],
            timeout=1800,
            what="Debian base image",
        )
        # Its lines go to the terminal as they come, each tagged [deps HH:MM:SS].
        beside["dependency images"] = subprocess.Popen(
            [str(AIRGAP / "images" / "build-deps.sh")], start_new_session=True
        )
        run(
            [str(AIRGAP / "images" / "build-node-image.sh")],
            timeout=5400,
            what="node image build",
            stream=True,
        )
        for what, build in beside.items():
            if build.wait(timeout=5400) != 0:
                raise CommandFailed(f"{what} failed (exit {build.returncode}), see above")
    finally:
        for build in beside.values():
            if build.poll() is None:
                os.killpg(build.pid, signal.SIGTERM)
                build.wait()
    return offline_images_to_load(settings)


def offline_images_to_load(settings: Settings) -> list[str]:
    """What the nodes need besides the node image's own (metrics-server is preloaded there)."""
    addons = offline_addon_images(settings)
    return [
        *offline_drawing_images(),
        addons["TRAEFIK_IMAGE"],
        addons["KUBE_ROUTER_IMAGE"],
    ]


def addon_manifests(*, offline: bool) -> list[str]:
    """The add-ons' manifest files (testbed/addons), in install order: metrics-server (for the
    autoscalers), Traefik (for the Ingress) and, offline, kube-router's firewall (flannel
    enforces no NetworkPolicy; online, kind's kindnetd does)."""
    chosen = ["metrics-server.yaml", "traefik.yaml"]
    return [*chosen, "kube-router.yaml"] if offline else chosen


def render_addon(manifest: str, *, offline: bool, settings: Settings) -> str:
    """An add-on's manifest (a file in testbed/addons) with its image placeholders filled, and
    Traefik's served namespaces: the testbed's own (testbed/ingress_namespaces.py adds others)."""
    chosen = offline_addon_images(settings) if offline else ONLINE_ADDON_IMAGES
    text = (ADDONS / manifest).read_text()
    for placeholder, image in chosen.items():
        text = text.replace(placeholder, image)
    return text.replace("SERVED_NAMESPACES", settings.namespace)
