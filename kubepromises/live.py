"""What a drawing promises of a running cluster, checked on what the cluster reports.

`observe` reads the drawing's namespace once through the Kubernetes API (pods, workloads,
Services' EndpointSlices, PVCs, ConfigMaps, Secrets by name, nodes) into plain objects, in the
form `kubectl get -o json` prints them. Each check is then a pure function of the drawing, the
overlay deployed and that state, and returns its violations, one sentence each naming the object
and the drawing's field (with its line): an empty list means the promise holds. So a check can
be shown to fail on a broken copy of a real state, as the generic live suite
(`kubepromises.live_suite`) does beside every run on the cluster.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from kubernetes.utils import parse_quantity

from kubepromises.drawing import Drawing, Workload
from kubepromises.static import Obj, find, ref, selects

#: Taints that keep ordinary pods off a node (the control plane's, a cordoned or lost node's).
REPELLING = ("NoSchedule", "NoExecute")


@dataclass(frozen=True)
class Observed:
    """The drawing's namespace as the API reported it at one moment."""

    pods: tuple[Obj, ...]
    workloads: tuple[Obj, ...]
    endpoint_slices: tuple[Obj, ...]
    claims: tuple[Obj, ...]
    configmaps: frozenset[str]
    secrets: frozenset[str]
    nodes: tuple[Obj, ...]


def observe(api: Any, namespace: str) -> Observed:
    """Read the namespace's state with a `kubernetes.client.ApiClient`. Secrets are kept by name
    only: their contents are not the drawing's business."""
    from kubernetes import client

    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    discovery = client.DiscoveryV1Api(api)

    def plain(listing: Any) -> tuple[Obj, ...]:
        return tuple(api.sanitize_for_serialization(item) for item in listing.items)

    def typed(kind: str, objects: tuple[Obj, ...]) -> tuple[Obj, ...]:
        # Items of a list carry no kind of their own.
        return tuple({**obj, "kind": kind} for obj in objects)

    deployments = typed("Deployment", plain(apps.list_namespaced_deployment(namespace)))
    statefulsets = typed("StatefulSet", plain(apps.list_namespaced_stateful_set(namespace)))
    return Observed(
        pods=typed("Pod", plain(core.list_namespaced_pod(namespace))),
        workloads=deployments + statefulsets,
        endpoint_slices=plain(discovery.list_namespaced_endpoint_slice(namespace)),
        claims=typed(
            "PersistentVolumeClaim", plain(core.list_namespaced_persistent_volume_claim(namespace))
        ),
        configmaps=frozenset(
            c.metadata.name for c in core.list_namespaced_config_map(namespace).items
        ),
        secrets=frozenset(s.metadata.name for s in core.list_namespaced_secret(namespace).items),
        nodes=typed("Node", plain(core.list_node())),
    )


def _condition(obj: Obj, kind: str) -> bool:
    """Whether the object's status holds that condition ("Ready") as True."""
    conditions = obj.get("status", {}).get("conditions") or []
    return any(c["type"] == kind and c["status"] == "True" for c in conditions)


def is_ready(pod: Obj) -> bool:
    """Running, Ready, and not on its way out."""
    return not pod["metadata"].get("deletionTimestamp") and _condition(pod, "Ready")


def pods_of(observed: Observed, workload: Obj) -> list[Obj]:
    """The pods the workload's selector picks (its matchLabels)."""
    wanted = workload["spec"]["selector"].get("matchLabels") or {}
    return [pod for pod in observed.pods if selects(wanted, pod["metadata"].get("labels", {}))]


def ready_pods(observed: Observed, workload: Obj) -> list[Obj]:
    return [pod for pod in pods_of(observed, workload) if is_ready(pod)]


def schedulable_nodes(observed: Observed) -> list[str]:
    """Nodes that are Ready and take ordinary pods."""
    names = []
    for node in observed.nodes:
        ready = _condition(node, "Ready")
        taints = node.get("spec", {}).get("taints") or []
        repelled = any(t.get("effect") in REPELLING for t in taints)
        if ready and not repelled and not node.get("spec", {}).get("unschedulable"):
            names.append(node["metadata"]["name"])
    return names


def _workloads(
    drawing: Drawing, overlay: str, observed: Observed
) -> Iterable[tuple[Workload, Obj | None]]:
    for workload in drawing.workloads_in(overlay):
        yield workload, find(observed.workloads, workload.kind, workload.name)


def ready_replica_violations(drawing: Drawing, overlay: str, observed: Observed) -> list[str]:
    """Each workload has at least the drawing's replica count Ready (an autoscaler may add more)."""
    violations = []
    for workload, obj in _workloads(drawing, overlay, observed):
        where = drawing.where(*drawing.field_of(workload), "replicas")
        if obj is None:
            violations.append(f"{workload.kind}/{workload.name} is not running ({where})")
            continue
        ready = ready_pods(observed, obj)
        if len(ready) < workload.replicas:
            others = sorted(
                f"{p['metadata']['name']} ({p.get('status', {}).get('phase', '?')})"
                for p in pods_of(observed, obj)
                if p not in ready
            )
            violations.append(
                f"{ref(obj)} has {len(ready)} replicas Ready; {where} is {workload.replicas}"
                + (f"; not Ready: {', '.join(others)}" if others else "")
            )
    return violations


def spread_violations(drawing: Drawing, overlay: str, observed: Observed) -> list[str]:
    """Each workload's Ready replicas run on different nodes, as far as there are nodes for
    them: losing one node loses at most one replica while there are enough."""
    nodes = schedulable_nodes(observed)
    violations = []
    for workload, obj in _workloads(drawing, overlay, observed):
        if obj is None or workload.replicas < 2:
            continue
        placement = {
            p["metadata"]["name"]: p["spec"].get("nodeName") for p in ready_pods(observed, obj)
        }
        wanted = min(workload.replicas, len(nodes))
        if len(set(placement.values())) < wanted:
            where = drawing.where(*drawing.field_of(workload), "replicas")
            violations.append(
                f"{ref(obj)}'s Ready replicas share nodes ({placement}); {len(nodes)} schedulable "
                f"nodes could hold {wanted} of {where}'s {workload.replicas} apart"
            )
    return violations


def claim_violations(drawing: Drawing, overlay: str, observed: Observed) -> list[str]:
    """Each volume of the drawing is a Bound PVC with at least the drawing's size."""
    deployed = drawing.volumes_in(overlay)
    violations = []
    for index, volume in enumerate(drawing.volumes):
        if volume not in deployed:
            continue
        claim = find(observed.claims, "PersistentVolumeClaim", volume.pvc_name)
        if claim is None:
            where = drawing.where("volumes", index, "name")
            violations.append(f"PersistentVolumeClaim/{volume.pvc_name} does not exist ({where})")
            continue
        status = claim.get("status", {})
        if status.get("phase") != "Bound":
            violations.append(f"{ref(claim)} is {status.get('phase')}, not Bound")
            continue
        capacity = (status.get("capacity") or {}).get("storage")
        if capacity is None or parse_quantity(capacity) < parse_quantity(volume.size):
            where = drawing.where("volumes", index, "size")
            violations.append(f"{ref(claim)} holds {capacity}; {where} is {volume.size}")
    return violations


def configuration_violations(drawing: Drawing, overlay: str, observed: Observed) -> list[str]:
    """The drawing's ConfigMaps and Secrets exist (the cluster adds its own beside them)."""
    violations = []
    for kind, field, promised, present in (
        ("ConfigMap", "configmaps", drawing.configmaps_in(overlay), observed.configmaps),
        ("Secret", "secrets", drawing.secrets, observed.secrets),
    ):
        violations += [
            f"{kind}/{name} does not exist ({drawing.where(field)})"
            for name in sorted(set(promised) - present)
        ]
    return violations


def endpoint_violations(drawing: Drawing, overlay: str, observed: Observed) -> list[str]:
    """Each workload's Service sends to every Ready replica and to nothing else: load is
    balanced over all of them, and none that is not Ready gets any."""
    violations = []
    for workload, obj in _workloads(drawing, overlay, observed):
        if obj is None:
            continue
        ready = {p.get("status", {}).get("podIP") for p in ready_pods(observed, obj)}
        served = {
            address
            for slice_ in observed.endpoint_slices
            if slice_["metadata"].get("labels", {}).get("kubernetes.io/service-name")
            == workload.name
            for endpoint in slice_.get("endpoints") or []
            if (endpoint.get("conditions") or {}).get("ready")
            for address in endpoint.get("addresses") or []
        }
        if served != ready:
            where = drawing.where(*drawing.field_of(workload), "port")
            violations.append(
                f"Service/{workload.name} ({where}) sends to {sorted(served)}; "
                f"{ref(obj)}'s Ready replicas are {sorted(ready)}"
            )
    return violations


def node_addresses(observed: Observed) -> list[str]:
    """Each schedulable node's InternalIP, where a NodePort is open."""
    ready = set(schedulable_nodes(observed))
    return [
        address["address"]
        for node in observed.nodes
        if node["metadata"]["name"] in ready
        for address in node.get("status", {}).get("addresses") or []
        if address["type"] == "InternalIP"
    ]


def connects(address: str, port: int, timeout: float = 3.0) -> bool:
    """A TCP connection to address:port is accepted within the timeout."""
    try:
        with socket.create_connection((address, port), timeout=timeout):
            return True
    except OSError:
        return False


def node_port_violations(
    drawing: Drawing,
    overlay: str,
    observed: Observed,
    connect: Callable[[str, int], bool] = connects,
) -> list[str]:
    """Each of the drawing's node ports accepts connections on every schedulable node."""
    addresses = node_addresses(observed)
    if not addresses:
        return ["no schedulable node has an InternalIP to reach a node port on"]
    violations = []
    for promised in drawing.node_ports_in(overlay):
        refused = [a for a in addresses if not connect(a, promised.node_port)]
        if refused:
            where = drawing.where(
                *drawing.field_of(drawing.workload(promised.workload)), "node_port"
            )
            violations.append(
                f"Service/{promised.service}'s node port {promised.node_port} ({where}) "
                f"refuses connections on {', '.join(refused)}"
            )
    return violations


#: Run in a caller's pod: a TCP connection to argv[1]:argv[2] within 3 s (the name resolved by
#: the cluster's DNS, the Service's address routed), exit 0; otherwise why, and exit 1.
CONNECT = (
    "import socket, sys\n"
    "try:\n"
    "    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3).close()\n"
    "except OSError as error:\n"
    "    print(f'{type(error).__name__}: {error}')\n"
    "    sys.exit(1)\n"
)
#: The probe's shell: CONNECT with python3 where the image has it, else bash's /dev/tcp (bounded
#: by coreutils' timeout); $0 and $1 are the host and port, $2 is CONNECT.
PROBE = (
    'if command -v python3 >/dev/null 2>&1; then exec python3 -c "$2" "$0" "$1"; fi; '
    'if command -v bash >/dev/null 2>&1; then exec timeout 3 bash -c "exec 3<>/dev/tcp/$0/$1"; fi; '
    'echo "cannot probe: neither python3 nor bash in this image"; exit 127'
)


#: How many probes of the isolation check run at once.
PARALLEL_PROBES = 8


def run_in_pod(
    api: Any, namespace: str, pod: str, command: list[str], container: str | None = None
) -> tuple[bool, str]:
    """Run a command in the pod's container (by default its first): (it exited 0, what it
    printed — its stdout, then its stderr — or why not)."""
    from kubernetes import client
    from kubernetes.stream import stream

    # A client of its own: `stream` swaps its client's request method for the call's length,
    # which probes side by side would leave swapped for the plain API calls after them.
    with client.ApiClient(api.configuration) as own:
        response = stream(
            client.CoreV1Api(own).connect_get_namespaced_pod_exec,
            pod,
            namespace,
            command=command,
            container=container,  # None: the first
            stderr=True,
            stdin=False,
            stdout=True,
            tty=False,
            _preload_content=False,
        )
        response.run_forever(timeout=15)
        status = response.read_channel(3)  # the API's verdict on the process
        # stdout whole, then stderr: the two arrive in frames that interleave, and a complaint
        # on stderr could split a number printed on stdout (seen on 6 Dec 2026: a memory limit
        # read as "cat: /sys/fs/cgroup/memory.max268435456\n: No such file or directory").
        printed = "\n".join(str(response.read_channel(c)).strip() for c in (1, 2)).strip()
        response.close()
    succeeded = '"status":"Success"' in status.replace(" ", "")
    return succeeded, printed or status


def connect_from(api: Any, namespace: str, pod: str, host: str, port: int) -> str | None:
    """None when a TCP connection from inside `pod` to host:port opens, else what it met. The
    probe runs in the pod's first container: python3, or bash where there is no python3 (a pod
    with neither says so)."""
    succeeded, said = run_in_pod(api, namespace, pod, ["sh", "-c", PROBE, host, str(port), CONNECT])
    return None if succeeded else (said or "refused or timed out")


def pod_to_call_from(observed: Observed, workload: Workload) -> str | None:
    """The first Ready pod of the workload, None when it has none."""
    obj = find(observed.workloads, workload.kind, workload.name)
    ready = ready_pods(observed, obj) if obj is not None else []
    return ready[0]["metadata"]["name"] if ready else None


def call_violations(
    drawing: Drawing,
    overlay: str,
    observed: Observed,
    connect: Callable[[str, str, int], str | None],
) -> list[str]:
    """Each call of the drawing opens from a Ready pod of its caller to its target's Service
    by name, on the target's port: the name resolves, the Service routes, no policy drops it.
    `connect(pod, host, port)` says None when it opened, else what it met."""
    violations = []
    for call in drawing.calls_in(overlay):
        source = drawing.workload(call.source)
        pod = pod_to_call_from(observed, source)
        if pod is None:
            violations.append(f"{source.kind}/{source.name} has no Ready pod to call from")
            continue
        met = connect(pod, call.target, call.port)
        if met is not None:
            where = drawing.where("calls", drawing.calls.index(call))
            violations.append(
                f"{pod} cannot reach {call.target}:{call.port} ({where}): {met.splitlines()[-1]}"
            )
    return violations


def isolation_violations(
    drawing: Drawing,
    overlay: str,
    observed: Observed,
    connect: Callable[[str, str, int], str | None],
) -> list[str]:
    """Each data store accepts its callers only: from a Ready pod of every other workload of the
    overlay, a connection to it does not open (a NetworkPolicy refuses or drops it). The probes
    run side by side (PARALLEL_PROBES): a dropped one waits out its 3 s."""
    deployed = drawing.workloads_in(overlay)
    allowed = {(c.source, c.target) for c in drawing.calls_in(overlay)}
    violations = []
    probes: list[tuple[str, Workload]] = []
    for store in (w for w in deployed if w.data_store):
        for other in deployed:
            if other is store or (other.name, store.name) in allowed:
                continue
            pod = pod_to_call_from(observed, other)
            if pod is None:
                violations.append(f"{other.kind}/{other.name} has no Ready pod to call from")
                continue
            probes.append((pod, store))
    with ThreadPoolExecutor(PARALLEL_PROBES) as pool:
        met = list(pool.map(lambda probe: connect(probe[0], probe[1].name, probe[1].port), probes))
    for (pod, store), answer in zip(probes, met, strict=True):
        if answer is None:
            where = drawing.where(*drawing.field_of(store), "data_store")
            violations.append(
                f"{pod} reaches {store.name}:{store.port}, a data store ({where}) its workload "
                "has no call to"
            )
    return violations
