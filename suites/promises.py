"""The architecture drawing's promises, written once.

Every number and name the drawing (and system/CONTRACT.md) commits to lives here and nowhere
else; the static suite checks the rendered manifests against it, the live suites check the
running cluster against it. Import it as ``from suites import promises``.

A promise belongs to a *piece* of the manifests: ``base`` is always deployed, ``log-store``
(Elasticsearch), ``elk`` (Logstash and Kibana), ``log-shipper`` (the offline overlay's rsyslog
DaemonSet, shipping to Elasticsearch), ``filebeat`` (the online overlay's Filebeat DaemonSet,
shipping to Logstash), ``ingress`` and ``autoscaling`` are kustomize components that an overlay
may include. Both shippers are the DaemonSet ``log-shipper``.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

REPO_ROOT: Final = Path(__file__).resolve().parent.parent
MANIFESTS: Final = REPO_ROOT / "manifests"

#: The Kubernetes release the manifests target (kind node image, OpenAPI schema).
KUBERNETES_VERSION: Final = "v1.34.4"

NAMESPACE: Final = "demo-micro"

#: Every pod template carries this label with the workload's name; every Service, PDB, HPA
#: and NetworkPolicy selects on it alone. Live suites select pods with it.
APP_LABEL: Final = "app.kubernetes.io/name"
PART_OF_LABEL: Final = "app.kubernetes.io/part-of"

#: Annotations on a pod template that excuse one security habit, with the reason as value.
RUNS_AS_ROOT_ANNOTATION: Final = "demo-micro.dev/runs-as-root"
WRITABLE_ROOT_ANNOTATION: Final = "demo-micro.dev/writable-root-filesystem"
HOST_PATH_ANNOTATION: Final = "demo-micro.dev/host-path"

Piece = Literal["base", "log-store", "elk", "log-shipper", "filebeat", "ingress", "autoscaling"]

#: Which pieces each overlay deploys.
OVERLAYS: Final[dict[str, frozenset[Piece]]] = {
    "kind": frozenset({"base", "log-store", "elk", "filebeat", "ingress", "autoscaling"}),
    "offline": frozenset({"base", "log-store", "log-shipper", "ingress", "autoscaling"}),
}

#: kind nodes that run our pods (testbed/kind/cluster.yaml: two workers; the control plane
#: keeps its taint), so the pods a DaemonSet runs at rest.
WORKER_NODES: Final = 2


@dataclass(frozen=True)
class Workload:
    """One box of the drawing that runs pods."""

    name: str
    kind: Literal["Deployment", "StatefulSet"]
    replicas: int
    port: int
    piece: Piece


#: Our four services: the drawing's two replicas each, their ports.
SERVICES: Final = (
    Workload("api-gateway", "Deployment", 2, 8080, "base"),
    Workload("order-service", "Deployment", 2, 9001, "base"),
    Workload("inventory-service", "Deployment", 2, 9000, "base"),
    Workload("notification-service", "Deployment", 2, 9002, "base"),
)

#: Databases, the cache, AWS emulation and the log stack.
DEPENDENCIES: Final = (
    Workload("order-db", "StatefulSet", 1, 5432, "base"),
    Workload("inventory-db", "StatefulSet", 1, 5432, "base"),
    Workload("notification-db", "StatefulSet", 1, 27017, "base"),
    Workload("redis", "StatefulSet", 1, 6379, "base"),
    Workload("localstack", "Deployment", 1, 4566, "base"),
    Workload("elasticsearch", "StatefulSet", 1, 9200, "log-store"),
    Workload("logstash", "Deployment", 1, 5044, "elk"),
    Workload("kibana", "Deployment", 1, 5601, "elk"),
)

WORKLOADS: Final = SERVICES + DEPENDENCIES


@dataclass(frozen=True)
class NodeAgent:
    """A DaemonSet: one pod on each node that runs our pods, no Service, not in the drawing."""

    name: str
    piece: Piece


#: The node-level log shipper (issue 6: "a node-level DaemonSet is the Kubernetes way"): rsyslog
#: offline, Filebeat online, under one name.
NODE_AGENTS: Final = (NodeAgent("log-shipper", "log-shipper"), NodeAgent("log-shipper", "filebeat"))

#: Where each shipper sends the lines: offline straight to the store, online to Logstash's beats
#: input (which indexes into the store).
SHIPPER_TARGETS: Final[dict[Piece, tuple[str, int]]] = {
    "log-shipper": ("elasticsearch", 9200),
    "filebeat": ("logstash", 5044),
}

#: The pods' log files a shipper reads: ours only (the kubelet's /var/log/pods/<ns>_<pod>_<uid>).
SHIPPED_LOG_GLOB_PREFIX: Final = f"/var/log/pods/{NAMESPACE}_"

#: Both paths write daily indices <prefix>YYYY-MM-DD; the suite and Kibana's data view read
#: <prefix>*.
LOG_INDEX_PREFIX: Final = "demo-micro-logs-"

#: The drawing's "Total Pods: ~15-20", for the overlay that deploys every piece.
TOTAL_PODS_RANGE: Final = (15, 20)

#: The drawing's "Services: 10+".
MIN_SERVICE_COUNT: Final = 10


@dataclass(frozen=True)
class Volume:
    """A PVC of the drawing, by the drawing's name and by the name it has in the cluster."""

    drawing_name: str
    workload: str
    size: str
    #: volumeClaimTemplate name for a StatefulSet; None for a Deployment's plain PVC.
    template: str | None
    piece: Piece

    @property
    def pvc_name(self) -> str:
        """The PersistentVolumeClaim's name in the cluster (ordinal 0 for a StatefulSet)."""
        if self.template is None:
            return self.drawing_name
        return f"{self.template}-{self.workload}-0"


VOLUMES: Final = (
    Volume("order-db-pvc", "order-db", "5Gi", "data", "base"),
    Volume("inventory-db-pvc", "inventory-db", "5Gi", "data", "base"),
    Volume("mongodb-pvc", "notification-db", "5Gi", "data", "base"),
    Volume("redis-pvc", "redis", "1Gi", "data", "base"),
    Volume("localstack-pvc", "localstack", "2Gi", None, "base"),
    Volume("elasticsearch-pvc", "elasticsearch", "10Gi", "data", "log-store"),
)

CONFIGMAPS: Final = (
    "api-gateway-config",
    "order-service-config",
    "inventory-service-config",
    "notification-service-config",
    "localstack-config",
    "app-version",
)

#: ConfigMaps beside the drawing's six that a piece brings for a node agent (not in the drawing).
AGENT_CONFIGMAPS: Final[dict[str, Piece]] = {"log-shipper-config": "filebeat"}

SECRETS: Final = (
    "postgres-secret",
    "mongodb-secret",
    "redis-secret",
    "aws-secret",
    "elasticsearch-secret",
)


@dataclass(frozen=True)
class NodePort:
    service: str
    workload: str
    port: int
    node_port: int
    piece: Piece


NODE_PORTS: Final = (
    NodePort("api-gateway-nodeport", "api-gateway", 8080, 30080, "base"),
    NodePort("kibana-nodeport", "kibana", 5601, 30561, "elk"),
)


@dataclass(frozen=True)
class IngressRoute:
    host: str
    service: str
    port: int
    piece: Piece


INGRESS: Final = IngressRoute("api.demo-micro.local", "api-gateway", 8080, "ingress")

#: The autoscalers never go below the drawing's replica count.
HPA_MIN_REPLICAS: Final = 2

#: Each database (and the cache) accepts connections from these workloads only.
DATABASE_CLIENTS: Final[dict[str, frozenset[str]]] = {
    "order-db": frozenset({"order-service"}),
    "inventory-db": frozenset({"inventory-service"}),
    "notification-db": frozenset({"notification-service"}),
    "redis": frozenset({"api-gateway"}),
}


@dataclass(frozen=True)
class Call:
    """A connection the system needs (CONTRACT.md's URLs and hosts).

    `piece`: needed only where that piece is deployed (both shippers are named log-shipper).
    """

    source: str
    target: str
    port: int
    piece: Piece | None = None


CALLS: Final = (
    Call("api-gateway", "order-service", 9001),
    Call("api-gateway", "inventory-service", 9000),
    Call("api-gateway", "notification-service", 9002),
    Call("api-gateway", "redis", 6379),
    Call("order-service", "inventory-service", 9000),
    Call("order-service", "notification-service", 9002),
    Call("order-service", "order-db", 5432),
    Call("order-service", "localstack", 4566),
    Call("inventory-service", "inventory-db", 5432),
    Call("notification-service", "notification-db", 27017),
    Call("notification-service", "localstack", 4566),
    Call("logstash", "elasticsearch", 9200),
    Call("kibana", "elasticsearch", 9200),
    Call("log-shipper", "elasticsearch", 9200, "log-shipper"),
    Call("log-shipper", "logstash", 5044, "filebeat"),
)

#: Reachable from outside the namespace (NodePorts, the ingress controller, log shippers).
OPEN_TO_ANYONE: Final[dict[str, int]] = {"api-gateway": 8080, "kibana": 5601, "logstash": 5044}

#: The environment each service needs (CONTRACT.md, "Environment").
SERVICE_ENVIRONMENT: Final[dict[str, frozenset[str]]] = {
    "api-gateway": frozenset(
        {
            "APP_VERSION",
            "LOG_LEVEL",
            "INVENTORY_SERVICE_URL",
            "ORDER_SERVICE_URL",
            "NOTIFICATION_SERVICE_URL",
            "REDIS_HOST",
            "REDIS_PORT",
            "REDIS_PASSWORD",
            "CACHE_TTL_SECONDS",
            "RATE_LIMIT_PER_MINUTE",
        }
    ),
    "order-service": frozenset(
        {
            "APP_VERSION",
            "LOG_LEVEL",
            "INVENTORY_SERVICE_URL",
            "NOTIFICATION_SERVICE_URL",
            "ORDER_DB_HOST",
            "ORDER_DB_PORT",
            "ORDER_DB_NAME",
            "POSTGRES_USER",
            "POSTGRES_PASSWORD",
            "SQS_QUEUE_NAME",
            "AWS_ENDPOINT_URL",
            "AWS_DEFAULT_REGION",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
        }
    ),
    "inventory-service": frozenset(
        {
            "APP_VERSION",
            "LOG_LEVEL",
            "INVENTORY_DB_HOST",
            "INVENTORY_DB_PORT",
            "INVENTORY_DB_NAME",
            "POSTGRES_USER",
            "POSTGRES_PASSWORD",
        }
    ),
    "notification-service": frozenset(
        {
            "APP_VERSION",
            "LOG_LEVEL",
            "MONGODB_HOST",
            "MONGODB_PORT",
            "MONGODB_DATABASE",
            "MONGODB_USERNAME",
            "MONGODB_PASSWORD",
            "SQS_QUEUE_NAME",
            "AWS_ENDPOINT_URL",
            "AWS_DEFAULT_REGION",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
        }
    ),
}

#: Variables that only a Secret may carry.
SECRET_VARIABLES: Final = frozenset(
    {
        "POSTGRES_PASSWORD",
        "MONGODB_PASSWORD",
        "REDIS_PASSWORD",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "ELASTIC_PASSWORD",
        "KIBANA_SYSTEM_PASSWORD",
    }
)

#: The services' health endpoints (STYLE.md and CONTRACT.md).
READINESS_PATH: Final = "/readyz"
LIVENESS_PATH: Final = "/healthz"


def _project_version() -> str:
    with (REPO_ROOT / "pyproject.toml").open("rb") as pyproject:
        version: str = tomllib.load(pyproject)["project"]["version"]
    return version


#: Our images are tagged with the project's version and loaded into kind, never pulled.
SERVICE_IMAGE_TAG: Final = _project_version()

#: Dependency images per workload (CONTRACT.md, "Dependency images"): online, then offline.
#: None offline means the overlay does not deploy that workload.
DEPENDENCY_IMAGES: Final[dict[str, tuple[str, str | None]]] = {
    "order-db": ("postgres:16.4", "demo-micro-airgap/postgres:15"),
    "inventory-db": ("postgres:16.4", "demo-micro-airgap/postgres:15"),
    "redis": ("redis:7.4", "demo-micro-airgap/redis:7"),
    "notification-db": ("mongo:7.0", "demo-micro-airgap/ferretdb:1.24.2"),
    "localstack": ("localstack/localstack:4.4", "demo-micro-airgap/moto:5.2.5"),
    "elasticsearch": (
        "docker.elastic.co/elasticsearch/elasticsearch:8.15.3",
        "demo-micro-airgap/opensearch:2.19.6",
    ),
    "logstash": ("docker.elastic.co/logstash/logstash:8.15.3", None),
    "kibana": ("docker.elastic.co/kibana/kibana:8.15.3", None),
}

#: Node agents' images: online, then offline (pinned like the rest of the Elastic stack).
NODE_AGENT_IMAGES: Final[dict[str, tuple[str | None, str | None]]] = {
    "log-shipper": (
        "docker.elastic.co/beats/filebeat:8.15.3",
        "demo-micro-airgap/log-shipper:8.2302.0",
    ),
}

#: Overlays that use the air-gapped images.
OFFLINE_OVERLAYS: Final = frozenset({"offline"})


def expected_image(workload: str, overlay: str) -> str | None:
    """The image a workload's (or node agent's) main container runs in an overlay."""
    if workload in {service.name for service in SERVICES}:
        return f"demo-micro/{workload}:{SERVICE_IMAGE_TAG}"
    online: str | None
    online, offline = NODE_AGENT_IMAGES.get(workload) or DEPENDENCY_IMAGES[workload]
    return offline if overlay in OFFLINE_OVERLAYS else online


def deployed(piece: Piece, overlay: str) -> bool:
    """Whether an overlay deploys a piece."""
    return piece in OVERLAYS[overlay]


def workloads_in(overlay: str) -> tuple[Workload, ...]:
    """The workloads an overlay deploys."""
    return tuple(w for w in WORKLOADS if deployed(w.piece, overlay))


def node_agents_in(overlay: str) -> tuple[NodeAgent, ...]:
    """The DaemonSets an overlay deploys."""
    return tuple(a for a in NODE_AGENTS if deployed(a.piece, overlay))


def configmaps_in(overlay: str) -> tuple[str, ...]:
    """The drawing's ConfigMaps plus those of the node agents an overlay deploys."""
    extra = tuple(name for name, piece in AGENT_CONFIGMAPS.items() if deployed(piece, overlay))
    return CONFIGMAPS + extra


def calls_in(overlay: str) -> tuple[Call, ...]:
    """The connections an overlay needs (a call tied to a piece only where it is deployed)."""
    return tuple(c for c in CALLS if c.piece is None or deployed(c.piece, overlay))


def volumes_in(overlay: str) -> tuple[Volume, ...]:
    """The PVCs an overlay creates."""
    return tuple(v for v in VOLUMES if deployed(v.piece, overlay))


def workload(name: str) -> Workload:
    """A workload by name."""
    return next(w for w in WORKLOADS if w.name == name)
