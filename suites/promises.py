"""The architecture drawing's promises, written once.

Every number and name the drawing (and system/CONTRACT.md) commits to is written once, in
`drawing.yaml` at the repository's top level (read through kubepromises, docs/drawing.md); this
module gives the suites its values under the names they import, and holds what the drawing file
does not (the services' environment, labels, annotations). The static suite checks the rendered
manifests against it, the live suites check the running cluster against it. Import it as
``from suites import promises``.

A promise belongs to a *piece* of the manifests: ``base`` is always deployed, ``log-store``
(Elasticsearch), ``elk`` (Logstash and Kibana), ``log-shipper`` (the offline overlay's rsyslog
DaemonSet, shipping to Elasticsearch), ``filebeat`` (the online overlay's Filebeat DaemonSet,
shipping to Logstash), ``ingress`` and ``autoscaling`` are kustomize components that an overlay
may include. Both shippers are the DaemonSet ``log-shipper``.
"""

from __future__ import annotations

from typing import Final, Literal, cast

from kubepromises.drawing import (
    Call,
    IngressRoute,
    NodeAgent,
    NodePort,
    Power,
    Volume,
    Workload,
    load_drawing,
)
from testbed.settings import DRAWING_FILE, PROJECT_VERSION, REPO, service_image

__all__ = ["Call", "IngressRoute", "NodeAgent", "NodePort", "Power", "Volume", "Workload"]

REPO_ROOT: Final = REPO
MANIFESTS: Final = REPO_ROOT / "manifests"

DRAWING: Final = load_drawing(DRAWING_FILE)

#: The Kubernetes release the manifests target (kind node image, OpenAPI schema).
KUBERNETES_VERSION: Final = DRAWING.kubernetes_version

NAMESPACE: Final = DRAWING.namespace

#: Every pod template carries this label with the workload's name; every Service, PDB, HPA
#: and NetworkPolicy selects on it alone. Live suites select pods with it.
APP_LABEL: Final = "app.kubernetes.io/name"
PART_OF_LABEL: Final = "app.kubernetes.io/part-of"

#: Annotations on a pod template that excuse one security habit, with the reason as value.
RUNS_AS_ROOT_ANNOTATION: Final = "demo-micro.dev/runs-as-root"
WRITABLE_ROOT_ANNOTATION: Final = "demo-micro.dev/writable-root-filesystem"
HOST_PATH_ANNOTATION: Final = "demo-micro.dev/host-path"

#: The drawing's pieces (its overlays name them); the type the static suite's signatures use.
Piece = Literal["base", "log-store", "elk", "log-shipper", "filebeat", "ingress", "autoscaling"]

#: Which pieces each overlay deploys.
OVERLAYS: Final[dict[str, frozenset[Piece]]] = {
    overlay.name: cast("frozenset[Piece]", overlay.pieces) for overlay in DRAWING.overlays
}

#: kind nodes that run our pods (testbed/kind/cluster.yaml: two workers; the control plane
#: keeps its taint), so the pods a DaemonSet runs at rest.
WORKER_NODES: Final = 2

#: Our four services: the drawing's two replicas each, their ports.
SERVICES: Final = DRAWING.services

#: Databases, the cache, AWS emulation and the log stack.
DEPENDENCIES: Final = DRAWING.dependencies

WORKLOADS: Final = SERVICES + DEPENDENCIES

#: The node-level log shipper: rsyslog offline, Filebeat online, under one name.
NODE_AGENTS: Final = DRAWING.node_agents

#: Where each shipper sends the lines (the calls of the node agents, by piece): offline straight
#: to the store, online to Logstash's beats input (which indexes into the store).
SHIPPER_TARGETS: Final[dict[str, tuple[str, int]]] = {
    call.piece: (call.target, call.port)
    for call in DRAWING.calls
    if call.piece is not None and call.source in {agent.name for agent in NODE_AGENTS}
}

#: The pods' log files a shipper reads: ours only (the kubelet's /var/log/pods/<ns>_<pod>_<uid>).
SHIPPED_LOG_GLOB_PREFIX: Final = f"/var/log/pods/{NAMESPACE}_"

#: Both paths write daily indices <prefix>YYYY-MM-DD; the suite and Kibana's data view read
#: <prefix>*.
LOG_INDEX_PREFIX: Final = DRAWING.log_index_prefix

#: The drawing's "Total Pods: ~15-20", for the overlay that deploys every piece.
TOTAL_PODS_RANGE: Final = DRAWING.total_pods

#: The drawing's "Services: 10+".
MIN_SERVICE_COUNT: Final = DRAWING.min_services

VOLUMES: Final = DRAWING.volumes

CONFIGMAPS: Final = DRAWING.configmaps

#: ConfigMaps beside the drawing's that a piece brings for a node agent (not in the drawing).
AGENT_CONFIGMAPS: Final[dict[str, str]] = {
    name: agent.piece for agent in NODE_AGENTS for name in agent.configmaps
}

SECRETS: Final = DRAWING.secrets

NODE_PORTS: Final = DRAWING.node_ports

INGRESS: Final = DRAWING.ingress

#: The node port in front of the ingress's workload: how the suites reach the API from the host.
API_NODE_PORT: Final = next(p for p in NODE_PORTS if p.workload == INGRESS.service)

#: Each database (and the cache) accepts connections from these workloads only: the callers the
#: drawing names for each data store.
DATABASE_CLIENTS: Final[dict[str, frozenset[str]]] = {
    store.name: frozenset(call.source for call in DRAWING.calls if call.target == store.name)
    for store in WORKLOADS
    if store.data_store
}

#: A connection the system needs (CONTRACT.md's URLs and hosts), on the target's port.
CALLS: Final = DRAWING.calls

#: Reachable from outside the namespace (NodePorts, the ingress controller, log shippers).
OPEN_TO_ANYONE: Final[dict[str, int]] = {w.name: w.port for w in WORKLOADS if w.open_to_anyone}

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
            "ORDER_DB_USER",
            "ORDER_DB_PASSWORD",
            "SQS_QUEUE_NAME",
            "AWS_ENDPOINT_URL",
            "AWS_DEFAULT_REGION",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "LISTING_TOKEN",
        }
    ),
    "inventory-service": frozenset(
        {
            "APP_VERSION",
            "LOG_LEVEL",
            "INVENTORY_DB_HOST",
            "INVENTORY_DB_PORT",
            "INVENTORY_DB_NAME",
            "INVENTORY_DB_USER",
            "INVENTORY_DB_PASSWORD",
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
            "LISTING_TOKEN",
        }
    ),
}

#: Variables that only a Secret may carry.
SECRET_VARIABLES: Final = frozenset(
    {
        "POSTGRES_PASSWORD",
        "ORDER_DB_PASSWORD",
        "INVENTORY_DB_PASSWORD",
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


#: Our images are tagged with the project's version and loaded into kind, never pulled.
SERVICE_IMAGE_TAG: Final = PROJECT_VERSION

#: Overlays that use the air-gapped images.
OFFLINE_OVERLAYS: Final = frozenset(o.name for o in DRAWING.overlays if o.air_gapped)


def expected_image(workload: str, overlay: str) -> str | None:
    """The image a workload's (or node agent's) main container runs in an overlay."""
    if workload in {service.name for service in SERVICES}:
        return service_image(workload, SERVICE_IMAGE_TAG)
    agents = [a for a in node_agents_in(overlay) if a.name == workload]
    if agents:
        return agents[0].image
    image = DRAWING.workload(workload).image
    assert image is not None, f"{workload} is a dependency: the drawing gives its image"
    return image.offline if overlay in OFFLINE_OVERLAYS else image.online


def deployed(piece: str, overlay: str) -> bool:
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


def power(promise: str) -> Power:
    """How often the promise's positive fault test repeats its fault (promises.yaml `power`)."""
    stated = next(p.power for p in DRAWING.promises if p.key == promise)
    if stated is None:
        raise KeyError(f"promises.yaml states no power for {promise!r}")
    return stated
