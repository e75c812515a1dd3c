"""One lifecycle for the testbed: kind cluster, images, add-ons, the deployed system, readiness."""

from __future__ import annotations

import errno
import functools
import json
import re
import shutil
import socket
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from kubernetes import client
from pytest_kind import KindCluster

from kubepromises.waiting import NotYet, eventually
from testbed import images, ingress_namespaces, preloading, tls
from testbed.archives import Archive, import_archive, needed, save_archives
from testbed.kibana import SECRET, Kibana, credentials_from_secret
from testbed.kube import Kube
from testbed.mode import is_offline
from testbed.phases import Phases
from testbed.settings import AIRGAP, REPO, Settings
from testbed.shell import CommandFailed, progress, run

#: Free disk under /var/cache and Docker's root (one file system on these hosts) that `up`
#: needs, measured on a fresh machine on 4 Dec 2026 (docs/cluster.md): the cold builds took
#: 22.6 GiB (Go's module and build caches about 14, the images and their archives the rest),
#: the bring-up 13.6 GiB more (the workers' image, the nodes' volumes with their image stores).
#: Once the node image is built, the builds are in the cache and only the cluster's share is
#: asked for.
BUILDS_GIB = 24
CLUSTER_GIB = 15


#: CoreDNS runs where the scheduler first finds a Ready node: on a worker when the workers are
#: Ready first, both replicas at times. A worker lost with them took the cluster's DNS along for
#: minutes (their eviction waits 300 s), and the pods rescheduled on the other worker could not
#: resolve their databases (seen in the node-loss test on 3 Dec 2026). The control plane is the
#: node no test takes away; kubeadm's CoreDNS already tolerates its taint.
DNS_ON_CONTROL_PLANE = json.dumps(
    {
        "spec": {
            "template": {"spec": {"nodeSelector": {"node-role.kubernetes.io/control-plane": ""}}}
        }
    }
)


def normalized(image: str) -> str:
    """An image reference as containerd names it (`docker.io/` before a Docker Hub name)."""
    first = image.split("/")[0]
    if image.count("/") >= 2 or "." in first:
        return image
    return f"docker.io/{image}"


def node_digests(listing: str) -> dict[str, str]:
    """Image reference → manifest digest, from `ctr images ls` (REF TYPE DIGEST ...)."""
    rows = (line.split() for line in listing.splitlines()[1:] if line.strip())
    return {row[0]: row[2] for row in rows if len(row) >= 3}


def workload_of(pod: client.V1Pod) -> str | None:
    """`deployment/<name>`, `statefulset/<name>` or `daemonset/<name>` owning the pod."""
    for owner in pod.metadata.owner_references or []:
        if owner.kind == "ReplicaSet":
            hash_label = (pod.metadata.labels or {}).get("pod-template-hash", "")
            return f"deployment/{owner.name.removesuffix('-' + hash_label)}"
        if owner.kind in ("StatefulSet", "DaemonSet"):
            return f"{owner.kind.lower()}/{owner.name}"
    return None


def another_build(pod: client.V1Pod, held: dict[str, str], config_of: Callable[[str], str]) -> str:
    """What a container of the pod runs if it is another build of its image than the one its
    node holds under that tag now, else "" (`held`: reference → manifest digest on the pod's
    node; `config_of`: a manifest digest → the digest of the image config it names there, ""
    when the node cannot tell).

    A build is its image config: one build can be held under two manifests (an image imported
    twice, or saved another way), and the kubelet may name a container's image by its config
    digest alone; either way the configs decide, not the manifests' digests.
    """
    for status in pod.status.container_statuses or []:
        now = held.get(normalized(status.image or ""))
        _, at, digest = (status.image_id or "").rpartition("@")
        if not now or not digest or digest == now:
            continue
        running = config_of(digest) if at else digest
        if running and running == config_of(now):
            continue
        return (
            f"{pod.metadata.name} on {pod.spec.node_name if pod.spec else '?'}: "
            f"{status.name} runs {status.image_id} (config {running or 'unknown'}), "
            f"the node holds {now} (config {config_of(now) or 'unknown'}) for {status.image}"
        )
    return ""


#: Docker's binary size units (`docker stats`), in bytes.
DOCKER_UNITS = {"B": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}
DOCKER_SIZE = re.compile(r"(?P<number>\d+(?:\.\d+)?)(?P<unit>B|[KMGT]iB)")


def docker_bytes(size: str) -> int:
    """Bytes from a size as `docker stats` prints it ("1.55GiB", "512KiB", "0B")."""
    match = DOCKER_SIZE.fullmatch(size)
    if match is None:
        raise ValueError(f"not a docker size: {size!r}")
    return round(float(match["number"]) * DOCKER_UNITS[match["unit"]])


#: The databases' init script (the ConfigMap, where the pods mount it, and its SQL here), which
#: makes each service's own role (manifests/base/postgres-init).
DATABASE_INIT = "postgres-init"
DATABASE_INIT_SCRIPT = "/docker-entrypoint-initdb.d/app-role.sh"
DATABASE_INIT_SQL = REPO / "manifests" / "base" / DATABASE_INIT / "app-role.psql"


class SetupError(RuntimeError):
    """The host cannot run the testbed as it is; the message says what to change."""


#: The taints the node controller sets and lifts by itself, as a node's condition changes.
CONDITION_TAINTS = "node.kubernetes.io/"


def reserves(taint: client.V1Taint) -> bool:
    """Whether a taint keeps ordinary pods off a node for good (kind's control plane), rather
    than for as long as the node is starting or unreachable."""
    return taint.effect in {"NoSchedule", "NoExecute"} and not taint.key.startswith(
        CONDITION_TAINTS
    )


def taken_ports(ports: tuple[int, ...]) -> list[int]:
    """The ports of `ports` that something already listens on (or holds) on 127.0.0.1.

    The probe binds with SO_REUSEADDR, as Docker's port publishing does: connections of an
    earlier run in TIME_WAIT do not hold a port, a listener still does."""
    taken = []
    for port in ports:
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
            except OSError as error:
                if error.errno != errno.EADDRINUSE:
                    raise
                taken.append(port)
    return taken


def disk_needed(*, built: bool) -> tuple[float, str]:
    """The free disk `up` needs, in GiB, and what it is for."""
    if built:
        return CLUSTER_GIB, "the cluster; its images are built and cached"
    return BUILDS_GIB + CLUSTER_GIB, f"the builds {BUILDS_GIB:g} and the cluster {CLUSTER_GIB:g}"


def disk_problem(path: Path, needed_gib: float, what: str) -> str:
    """Why `path` lacks room for the testbed, or '' when it has enough."""
    free_gib = shutil.disk_usage(path).free / 2**30
    if free_gib >= needed_gib:
        return ""
    return (
        f"Only {free_gib:.1f} GiB free under {path}; the testbed needs {needed_gib:g} GiB ({what})."
    )


def stale_problem(name: str, nodes: dict[str, tuple[bool, str]], expected_image: str) -> str:
    """Why an existing cluster of this name cannot be reused as it is, or ''.

    `nodes`: node container → (running, image) as Docker reports them.
    """
    remedy = f"Delete it with `python -m testbed down` (or `kind delete cluster --name {name}`)."
    if not nodes:
        return f"A cluster named {name} is registered but has no node containers. {remedy}"
    stopped = sorted(node for node, (running, _) in nodes.items() if not running)
    if stopped:
        return (
            f"The cluster {name} exists but its node containers {', '.join(stopped)} are "
            f"stopped (a host restart?); kind cannot restart a multi-node cluster. {remedy}"
        )
    other = sorted(
        {
            image
            for _, image in nodes.values()
            if not preloading.is_node_image(image, expected_image)
        }
    )
    if other:
        return (
            f"The cluster {name} runs node image {', '.join(other)}, but this mode needs "
            f"{expected_image} (online and air-gapped clusters are not interchangeable). {remedy}"
        )
    return ""


class Testbed:
    """The kind cluster named in `settings`, with the demo-micro system deployed in it."""

    __test__ = False  # not a test class, though its name starts with "Test"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.offline = is_offline(settings)

    # -- tools -------------------------------------------------------------------------------
    def _go_built(self, name: str) -> Path:
        out = run(
            [str(AIRGAP / "go" / "build.sh"), name],
            timeout=3600,
            what=f"Go build of {name}",
        )
        return Path(out.strip().splitlines()[-1])

    def kind_binary(self) -> Path:
        on_path = shutil.which("kind")
        return Path(on_path) if on_path and not self.offline else self._go_built("kind") / "kind"

    def kubectl_binary(self) -> Path:
        if self.offline:
            return self._go_built("kubernetes") / "kubectl"
        on_path = shutil.which("kubectl")
        return Path(on_path) if on_path else self._go_built("kubernetes") / "kubectl"

    @property
    def node_image(self) -> str:
        offline, online = self.settings.offline_node_image, self.settings.online_node_image
        return offline if self.offline else online

    def kind(self, *, images_in_config: bool = False) -> KindCluster:
        """kind for this cluster; with `images_in_config`, the config file names each node's
        image (kind's `--image` would give every node the same)."""
        self.settings.kubeconfig.parent.mkdir(parents=True, exist_ok=True)
        return KindCluster(
            self.settings.cluster_name,
            kubeconfig=self.settings.kubeconfig,
            image=None if images_in_config else self.node_image,
            kind_path=self.kind_binary(),
            kubectl_path=self.kubectl_binary(),
        )

    def kubectl(self, *args: str, timeout: float = 120, stdin: bytes | None = None) -> str:
        cmd = [str(self.kubectl_binary()), f"--kubeconfig={self.settings.kubeconfig}", *args]
        return run(cmd, timeout=timeout, what=f"kubectl {' '.join(args[:3])}", stdin=stdin)

    def kube(self) -> Kube:
        return Kube(self.settings.kubeconfig, self.settings.namespace)

    # -- checks ------------------------------------------------------------------------------
    def exists(self) -> bool:
        out = run(
            [str(self.kind_binary()), "get", "clusters"], timeout=60, what="kind get clusters"
        )
        return self.settings.cluster_name in out.split()

    def preflight(self) -> None:
        """Fail early, and say why, when this host cannot create the cluster."""
        try:
            run(["docker", "info"], timeout=30, what="docker info")
        except CommandFailed as failed:
            raise SetupError(
                "No Docker engine answers. Start one (on Debian hosts without systemd: "
                "airgap/host/prepare-docker.sh)."
            ) from failed
        # Online, nothing is built but the service images: the rest is pulled.
        built = not self.offline or self.has_image(self.node_image)
        needed_gib, what = disk_needed(built=built)
        problem = disk_problem(self.settings.cache.parent, needed_gib, what)
        if problem:
            raise SetupError(problem)
        if self.exists():
            return
        taken = taken_ports(self.settings.host_ports)
        if taken:
            raise SetupError(
                f"127.0.0.1 port(s) {', '.join(map(str, taken))} taken; the kind config maps "
                "them. Free them, or delete the cluster that holds them (`python -m testbed down`)."
            )

    # -- lifecycle ---------------------------------------------------------------------------
    def build(self) -> list[list[str]]:
        """Build (or find in the cache) every image the testbed runs; the images to load, in
        two groups: the stand-ins and add-ons (which change with their versions), then the
        service images (which change with the code)."""
        # Offline, the stand-ins first: the service images build on their Python base image.
        others = images.build_offline_images(self.settings) if self.offline else []
        return [others, images.build_service_images(self.settings, offline=self.offline)]

    def up(self, *, deploy: bool = True) -> None:
        phases = Phases(self.settings.reports / "bring-up.json")
        with phases.phase("preflight"):
            self.settings.cache.mkdir(parents=True, exist_ok=True)
            self.preflight()
        mode = "air-gapped" if self.offline else "online"
        progress(f"mode: {mode}; cluster: {self.settings.cluster_name}")
        with phases.phase("images"):
            groups = self.build()
        saving: Future[list[Archive]] | None = None
        background = ThreadPoolExecutor(1)
        reused = self.exists()
        with phases.phase("cluster"):
            if reused:
                self.refuse_stale()
                progress("reusing the existing cluster")
                self._export_kubeconfig()
            else:
                # New nodes lack the images: their archives are written while kind creates the
                # nodes, or first when the workers' node image is built from them.
                saving = background.submit(self.image_archives, groups)
                config, preloaded = self.settings.kind_config, bool(groups[0])
                if preloaded:
                    config = self.preloaded_config(saving.result()[0])
                progress("creating the kind cluster (1 control plane, 2 workers)")
                self.kind(images_in_config=preloaded).create(config_file=config)
            self.wait_nodes_ready()
        with phases.phase("image loading"):
            self.load_images(groups, saving)
            background.shutdown()
        if not deploy:
            with phases.phase("add-ons"):
                self.install_addons()
                self.wait_addons_ready()
        else:
            # The system does not wait for the add-ons (Traefik serves Ingresses it finds when
            # it starts; HPAs read metrics once the API is there): both start at once.
            with phases.phase("add-ons and deploy"):
                self.install_addons()
                self.apply_manifests()
                if reused:
                    self.restart_stale_workloads()
                self.wait_addons_ready()
                self.wait_deployed()
                if reused:
                    self.rerun_database_init()
        phases.save()

    def attach(self) -> None:
        """Use a running testbed as it is (for iterating on suites): check it is ready."""
        if not self.exists():
            raise SetupError(
                f"no cluster named {self.settings.cluster_name}: run `python -m testbed up` first"
            )
        self.refuse_stale()
        self._export_kubeconfig()
        self.wait_ready(timeout=120)
        stale = self.stale_workloads()
        if stale:
            raise SetupError(
                f"{', '.join(stale)}: pods run an earlier build of their image than the nodes "
                "hold now, so a verdict would be about another build. Run without "
                "--testbed-reuse (`python -m testbed up` restarts them), or "
                f"`kubectl -n {self.settings.namespace} rollout restart` them."
            )

    def nodes(self) -> list[str]:
        out = run(
            [str(self.kind_binary()), "get", "nodes", f"--name={self.settings.cluster_name}"],
            timeout=60,
            what="kind get nodes",
        )
        return out.split()

    def node_memory(self) -> dict[str, int]:
        """Each node container's memory use now, in bytes (`docker stats`): everything the
        deployed system takes, Kubernetes itself and the add-ons included."""
        out = run(
            [
                "docker",
                "stats",
                "--no-stream",
                "--format",
                "{{.Name}} {{.MemUsage}}",
                *self.nodes(),
            ],
            timeout=60,
            what="docker stats of the nodes",
        )
        usage = (line.split(" ", 1) for line in out.splitlines() if line.strip())
        return {name: docker_bytes(used.split("/")[0].strip()) for name, used in usage}

    def refuse_stale(self) -> None:
        """Stop with a clear message when the existing cluster cannot be reused."""
        names = self.nodes()
        states: dict[str, tuple[bool, str]] = {}
        if names:
            state = "{{.Name}} {{.State.Running}} {{.Config.Image}}"
            out = run(
                ["docker", "inspect", "-f", state, *names],
                timeout=60,
                what="docker inspect of the node containers",
            )
            for line in out.splitlines():
                node, running, image = line.split()
                states[node.lstrip("/")] = (running == "true", image)
        problem = stale_problem(self.settings.cluster_name, states, self.node_image)
        if problem:
            raise SetupError(problem)

    def preloaded_config(self, dependencies: Archive) -> Path:
        """A kind config whose workers run a node image that holds the `dependencies` archive's
        images already (testbed/preloading.py), built first if needed."""
        ids = self.image_ids(list(dependencies.images))
        worker = preloading.build_worker_image(self.node_image, dependencies, ids)
        config = self.settings.cache / "kind-cluster.yaml"
        base = self.settings.kind_config.read_text()
        config.write_text(preloading.with_node_images(base, self.node_image, worker))
        return config

    def node_image_id(self, node: str, image: str) -> str:
        """The image ID (config digest) a node's containerd holds for `image`, or ''."""
        ref = normalized(image)
        script = f"ctr -n k8s.io images ls \"name=={ref}\" | awk 'NR==2 {{print $3}}'"
        digest = run(
            ["docker", "exec", node, "sh", "-c", script], timeout=60, what="image check"
        ).strip()
        return self.config_digest(node, digest) if digest else ""

    def config_digest(self, node: str, manifest: str) -> str:
        """The digest of the image config that a manifest in a node's containerd names, or ''
        when the node does not hold that manifest."""
        script = f"ctr -n k8s.io content get {manifest} | jq -r .config.digest || true"
        return run(
            ["docker", "exec", node, "sh", "-c", script], timeout=60, what="image config check"
        ).strip()

    def pod_nodes(self) -> list[str]:
        """The nodes ordinary pods can be scheduled on (kind taints its control plane).

        The node controller's own taints (`node.kubernetes.io/not-ready`, `unreachable`, ...)
        say how a node is now, not what it is for: a worker that joined a second ago still has
        `not-ready`, and leaving it out left it without images (found on 2 Dec 2026: half the
        pods in ImagePullBackOff after a bring-up).
        """
        return [
            node.metadata.name
            for node in self.kube().core.list_node().items
            if not any(reserves(taint) for taint in node.spec.taints or [])
        ]

    def has_image(self, image: str) -> bool:
        try:
            self.image_ids([image])
        except CommandFailed:
            return False
        return True

    def image_ids(self, wanted: list[str]) -> dict[str, str]:
        return {
            image: run(
                ["docker", "image", "inspect", "-f", "{{.Id}}", image],
                timeout=60,
                what=f"docker image inspect {image}",
            ).strip()
            for image in wanted
        }

    def image_archives(self, groups: list[list[str]]) -> list[Archive]:
        """The archives of the image groups (testbed/archives.py), saved or from the cache."""
        ids = self.image_ids([image for group in groups for image in group])
        return save_archives(groups, ids, self.settings.cache / "image-archives")

    def load_images(
        self, groups: list[list[str]], saving: Future[list[Archive]] | None = None
    ) -> None:
        """Import local Docker images into the nodes that run pods and lack them.

        Each group's archive (testbed/archives.py: saved once per set of image IDs; `saving`
        when it is being written already) that holds an image a node lacks is imported into
        that node's containerd, the nodes in parallel. `--no-unpack`: the import only stores
        the blobs; the runtime unpacks an image when a container of it is first created, so a
        node unpacks only the images it runs. (kind's own `load docker-image` saves per call and
        asks crictl, which the air-gapped node image does not have.)
        """
        wanted = [image for group in groups for image in group]
        ids = self.image_ids(wanted)
        missing = {
            node: [i for i in wanted if self.node_image_id(node, i) != ids[i]]
            for node in self.pod_nodes()
        }
        missing = {node: images for node, images in missing.items() if images}
        if not missing:
            return
        started = time.monotonic()
        archives = saving.result() if saving else self.image_archives(groups)
        plan = {node: needed(archives, images) for node, images in missing.items()}
        sizes = {node: sum(a.path.stat().st_size for a in plan[node]) / 2**30 for node in plan}
        each = ", ".join(f"{size:.2f} GiB into {node}" for node, size in sizes.items())
        progress(f"importing {each}, in parallel")
        with ThreadPoolExecutor(len(plan)) as pool:
            list(pool.map(lambda node: self._import(node, plan[node]), plan))
        still_missing = {
            node: [i for i in images if self.node_image_id(node, i) != ids[i]]
            for node, images in missing.items()
        }
        still_missing = {node: images for node, images in still_missing.items() if images}
        if still_missing:
            raise CommandFailed(f"images missing on nodes after the import: {still_missing}")
        progress(f"images loaded in {time.monotonic() - started:.0f} s")

    def stale_workloads(self) -> list[str]:
        """The workloads of the namespace with a pod that runs another build of its image than
        its node holds under that tag now (`kind/name`, sorted).

        Rebuilt images keep their tags, so applying the manifests again changes nothing and
        running pods keep the build they started with: a re-run would check the previous build
        of a service, or two builds at once (found on 2 Dec 2026: pods 6 min old beside new
        ones of the same Deployment, each running a different build).
        """
        return sorted(self.stale_builds())

    def stale_builds(self) -> dict[str, list[str]]:
        """`stale_workloads`, each with what its pods run and what their nodes hold."""
        held: dict[str, dict[str, str]] = {}
        # Each (node, manifest) read once: the pods of a workload share their image.
        config_digest = functools.cache(self.config_digest)
        stale: dict[str, list[str]] = {}
        for pod in self.kube().pods():
            node = pod.spec.node_name
            if not node or pod.metadata.deletion_timestamp is not None:
                continue
            if node not in held:
                listing = run(
                    ["docker", "exec", node, "ctr", "-n", "k8s.io", "images", "ls"],
                    timeout=60,
                    what=f"the images on {node}",
                )
                held[node] = node_digests(listing)
            workload = workload_of(pod)
            config_of = functools.partial(config_digest, node)
            found = another_build(pod, held[node], config_of) if workload else ""
            if workload and found:
                stale.setdefault(workload, []).append(found)
        return stale

    def restart_stale_workloads(self) -> None:
        """Roll out again each workload running an earlier build (`stale_workloads`)."""
        for workload in self.stale_workloads():
            progress(f"restarting {workload}: its pods run an earlier build of its image")
            self.kubectl("rollout", "restart", workload, "-n", self.settings.namespace)

    def _import(self, node: str, archives: list[Archive]) -> None:
        for archive in archives:
            import_archive(node, archive)

    def _export_kubeconfig(self) -> None:
        run(
            [
                str(self.kind_binary()),
                "export",
                "kubeconfig",
                f"--name={self.settings.cluster_name}",
                f"--kubeconfig={self.settings.kubeconfig}",
            ],
            timeout=60,
            what="kind export kubeconfig",
        )

    def wait_nodes_ready(self) -> None:
        kube = self.kube()

        def all_ready() -> dict[str, bool]:
            ready = kube.nodes_ready()
            if len(ready) < 3 or not all(ready.values()):
                raise NotYet(ready)
            return ready

        eventually(
            all_ready,
            timeout=240,
            interval=2,
            what="all 3 kind nodes Ready",
            hint="look at `docker exec <node> journalctl -u kubelet` and the flannel pods",
        )

    def wait_system_pods_ready(self, timeout: float = 240) -> None:
        """Every pod outside the namespace (CNI, kube-proxy, DNS, storage, addons) Ready on every
        node before deploying: a node that cannot run pods shows here, named, not as workloads
        that never come up."""
        kube = self.kube()

        def all_ready() -> None:
            unready = [
                f"{p.metadata.namespace}/{p.metadata.name} on {p.spec.node_name}"
                for p in kube.unready_pods(everywhere=True)
                if p.metadata.namespace != self.settings.namespace
            ]
            if unready:
                raise NotYet(unready)

        try:
            eventually(all_ready, timeout=timeout, interval=2, what="the system pods Ready")
        except AssertionError as timed_out:
            raise AssertionError(f"{timed_out}\nWhy:\n{kube.why_not_ready()}") from None

    def install_addons(self) -> None:
        """The add-ons (images.addon_manifests), their image placeholders filled; the cluster DNS
        kept on the control plane."""
        for addon in images.addon_manifests(offline=self.offline):
            manifest = images.render_addon(addon, offline=self.offline, settings=self.settings)
            self.kubectl("apply", "-f", "-", stdin=manifest.encode())
        self.kubectl(
            "-n", "kube-system", "patch", "deployment", "coredns", "-p", DNS_ON_CONTROL_PLANE
        )

    def wait_addons_ready(self) -> None:
        """metrics-server, then its APIService and the metrics API, then every system pod."""
        self.wait_addon_ready("metrics-server")
        self.kubectl("apply", "-f", str(images.ADDONS / "metrics-server-apiservice.yaml"))
        self.wait_metrics_api()
        self.wait_system_pods_ready()

    def wait_addon_ready(self, name: str, namespace: str = "kube-system") -> None:
        apps = self.kube().apps

        def ready() -> None:
            deployment = apps.read_namespaced_deployment(name, namespace)
            if (deployment.status.ready_replicas or 0) < (deployment.spec.replicas or 1):
                raise NotYet(f"{deployment.status.ready_replicas or 0} ready")

        eventually(
            ready,
            timeout=180,
            interval=2,
            what=f"add-on {namespace}/{name} ready",
            hint=f"kubectl -n {namespace} describe deployment {name}",
        )

    def wait_metrics_api(self) -> None:
        """Until the aggregated metrics API is Available (the autoscalers need it)."""
        api = client.ApiregistrationV1Api(self.kube().core.api_client)

        def available() -> None:
            service = api.read_api_service("v1beta1.metrics.k8s.io")
            conditions = {c.type: c for c in service.status.conditions or []}
            condition = conditions.get("Available")
            if condition is None or condition.status != "True":
                raise NotYet(condition.message if condition else "no Available condition yet")

        eventually(
            available,
            timeout=180,
            interval=2,
            what="the metrics API (APIService v1beta1.metrics.k8s.io) Available",
            hint="kubectl -n kube-system logs deploy/metrics-server; a 404 here means the "
            "aggregator's connection bypassed kube-proxy (addons/metrics-server-apiservice.yaml)",
        )

    @property
    def overlay(self) -> Path:
        return REPO / "manifests" / "overlays" / ("offline" if self.offline else "kind")

    def deploy(self) -> None:
        self.apply_manifests()
        self.wait_deployed()

    def apply_manifests(self) -> None:
        progress(f"deploying {self.overlay.relative_to(REPO)}")
        # The Secret the Ingress names, made here and never committed, before the Ingress.
        tls.install(self.kubectl, self.overlay, self.settings.cache, self.settings.namespace)
        self.kubectl("apply", "-k", str(self.overlay), timeout=300)
        ingress_namespaces.serve(self.kubectl, self.settings.namespace)

    def wait_deployed(self) -> None:
        self.wait_ready()
        if not self.offline:
            self.create_log_data_view()

    def rerun_database_init(self) -> None:
        """On a reused cluster: each running database that mounts the init script runs it again,
        as its container's postStart does on every start, so a change of the script (its roles'
        settings, say) holds now, not at the database's next restart. The script is idempotent;
        its SQL comes from the repository through stdin (a mounted ConfigMap's file follows a
        change only after the kubelet's next sync)."""
        kube = self.kube()
        for pod in kube.pods():
            volumes = pod.spec.volumes or []
            if not any(v.config_map and v.config_map.name == DATABASE_INIT for v in volumes):
                continue
            name = str(pod.metadata.name)
            self.kubectl(
                "exec", "-i", "-n", self.settings.namespace, name, "--",
                "sh", "-c", f"APP_ROLE_SQL=/dev/stdin sh {DATABASE_INIT_SCRIPT}",
                stdin=DATABASE_INIT_SQL.read_bytes(), timeout=60,
            )  # fmt: skip
            progress(f"{name}: the databases' init script run again (its roles as written now)")

    def create_log_data_view(self) -> None:
        """Kibana's data view of the log indices (online: the offline overlay has no Kibana)."""
        secret = self.kube().core.read_namespaced_secret(SECRET, self.settings.namespace)
        kibana = Kibana(credentials_from_secret(secret.data or {}))
        # The Deployment is Ready already; this bounds the NodePort path and Kibana's own start.
        kibana.wait_available(timeout=180)
        progress(kibana.ensure_data_view())

    def wait_ready(self, timeout: float = 600) -> None:
        kube = self.kube()

        def everything_ready() -> str:
            workloads = kube.workloads()
            waiting = [str(w) for w in workloads if not w.rolled_out]
            pending = {name: phase for name, phase in kube.pvc_phases().items() if phase != "Bound"}
            # An autoscaled Deployment rolls out at one pod until its autoscaler raises it.
            below = kube.below_autoscaler_minimum()
            if not workloads or waiting or pending or below:
                raise NotYet(
                    f"not ready: {waiting or 'no workloads yet'}; PVCs not Bound: {pending}; "
                    f"below their autoscaler's minimum: {below}"
                )
            return f"{len(workloads)} workloads ready"

        try:
            progress(
                eventually(
                    everything_ready,
                    timeout=timeout,
                    interval=3,
                    what=f"every workload in namespace {self.settings.namespace} ready",
                    hint=f"`kubectl -n {self.settings.namespace} get events "
                    "--sort-by=.lastTimestamp`",
                )
            )
        except AssertionError as timed_out:
            raise AssertionError(f"{timed_out}\nWhy:\n{kube.why_not_ready()}") from None

    def down(self) -> None:
        if self.exists():
            progress(f"deleting cluster {self.settings.cluster_name}")
            self.kind().delete()
        else:
            progress(f"no cluster named {self.settings.cluster_name}")

    def status(self) -> str:
        if not self.exists():
            return f"cluster {self.settings.cluster_name}: absent"
        self._export_kubeconfig()
        kube = self.kube()
        lines = [
            f"cluster {self.settings.cluster_name}: present "
            f"({'air-gapped' if self.offline else 'online'} mode)"
        ]
        lines += [
            f"  node {name}: {'Ready' if ok else 'NotReady'}"
            for name, ok in kube.nodes_ready().items()
        ]
        lines += [f"  {w}" for w in kube.workloads()]
        lines += [f"  pvc {name}: {phase}" for name, phase in kube.pvc_phases().items()]
        lines += ["why anything above is not ready (nodes, pods, latest warning events):"]
        lines += [f"  {line}" for line in kube.why_not_ready().splitlines()]
        return "\n".join(lines)
