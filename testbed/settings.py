"""Typed settings of the testbed, read once from DEMO_MICRO_* environment variables."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import yaml

from kubepromises.drawing import load_drawing

REPO = Path(__file__).resolve().parent.parent
#: The air-gapped builds: versions, Go components and their patches, image scripts.
AIRGAP = REPO / "airgap"
Mode = Literal["auto", "online", "offline"]

#: The architecture drawing as data: names, ports, images and versions are read from it.
DRAWING_FILE = REPO / "drawing.yaml"
DRAWING = load_drawing(DRAWING_FILE)

#: The workloads built from this project's source, one image each.
SERVICES = tuple(service.name for service in DRAWING.services)


def _project_version() -> str:
    with (REPO / "pyproject.toml").open("rb") as pyproject:
        version: str = tomllib.load(pyproject)["project"]["version"]
    return version


#: The project's version (pyproject.toml), which tags the services' images.
PROJECT_VERSION = _project_version()


def service_image(service: str, version: str = PROJECT_VERSION) -> str:
    """The image a service is built into and loaded as (never pulled)."""
    return f"demo-micro/{service}:{version}"


def _airgap_versions() -> dict[str, str]:
    """airgap/versions.env, and the Kubernetes version from the drawing under the same key."""
    pairs = (
        line.split("=", 1)
        for line in (AIRGAP / "versions.env").read_text().splitlines()
        if "=" in line and not line.startswith("#")
    )
    versions = {key.strip(): value.strip() for key, value in pairs}
    versions["KUBERNETES_VERSION"] = DRAWING.kubernetes_version
    return versions


@dataclass(frozen=True)
class Settings:
    """Where the testbed lives and how it is brought up."""

    cluster_name: str = "demo-micro"
    mode: Mode = "auto"
    namespace: str = DRAWING.namespace
    cache: Path = Path("/var/cache/demo-micro")
    kind_config: Path = REPO / "testbed" / "kind" / "cluster.yaml"
    reports: Path = REPO / "reports"
    version: str = PROJECT_VERSION
    airgap: dict[str, str] = field(default_factory=_airgap_versions)

    @property
    def host_ports(self) -> tuple[int, ...]:
        """The host ports the kind config maps to 127.0.0.1: the drawing's node ports (API,
        Kibana) and the ingress controller's (suites/testbed/test_kind_config.py checks both)."""
        return mapped_ports(self.kind_config.read_text())

    @classmethod
    def from_env(cls) -> Settings:
        mode = os.environ.get("DEMO_MICRO_MODE", "auto")
        if mode not in ("auto", "online", "offline"):
            raise ValueError(f"DEMO_MICRO_MODE must be auto, online or offline, not {mode!r}")
        return cls(
            cluster_name=os.environ.get("DEMO_MICRO_CLUSTER", "demo-micro"),
            mode=mode,  # type: ignore[arg-type]
            cache=Path(os.environ.get("DEMO_MICRO_CACHE", "/var/cache/demo-micro")),
        )

    @property
    def kubeconfig(self) -> Path:
        return self.cache / "kubeconfig" / self.cluster_name

    def service_image(self, service: str) -> str:
        return service_image(service, self.version)

    #: The stock node image of kind v0.30.0 for Kubernetes 1.34 (online mode).
    online_node_image: str = "kindest/node:v1.34.0"

    @property
    def offline_node_image(self) -> str:
        return f"demo-micro-airgap/kind-node:{self.airgap['KUBERNETES_VERSION']}"


def mapped_ports(kind_config: str) -> tuple[int, ...]:
    """The host ports a kind config maps (every node's extraPortMappings)."""
    config = yaml.safe_load(kind_config)
    return tuple(
        int(mapping["hostPort"])
        for node in config.get("nodes") or []
        for mapping in node.get("extraPortMappings") or []
    )
