"""Faults injected from the kind nodes: network faults in one pod's network namespace, always
undone; and, at the end, the crash of a PostgreSQL server (`crash_postgres`), a full volume
(`on_small_filesystem`) and a noisy neighbour (`noisy_neighbour`), each undone by its context
manager however the test ends.

A pod's network namespace is entered from its kind node: the pod's container ID
(`status.containerStatuses[0].containerID`, `containerd://<id>`) names a containerd task whose
PID (`ctr -n k8s.io tasks ls` on the node) lives in that namespace, and
`nsenter -t <pid> -n iptables ...` then changes the pod's own rules only: not the node's
(kube-proxy, kube-router's policy firewall), not any other pod's.

Packets are dropped, never refused, so the service meets a fault that looks like a network
that lost them: a TCP connect or query waits for its own timeouts. Where the drop is matters
(checked on this kernel in a throwaway namespace, 2 Dec 2026): a UDP datagram dropped in
OUTPUT fails the sender's `sendto` at once with EPERM, which a resolver takes as an immediate
error (a refusal, not an outage). So:

- `partition` drops TCP to the peer in OUTPUT *and* its answers in INPUT (a dropped TCP segment
  in OUTPUT is retransmitted quietly, no error reaches the application);
- `dns_outage` drops the answers of port 53 (UDP and TCP) in INPUT only: the queries leave,
  nothing comes back, and the resolver waits out its timeouts as with a DNS that is down;
- `delayed` drops nothing: it sends what the pod sends to the peers to a netfilter queue, where a
  delayer run from this host in the pod's namespace (`testbed.nfqueue`) holds each packet for
  the delay (this kernel has no netem).

Every rule carries the comment `FAULT_COMMENT`; the context managers delete their rules when
the block ends, however it ends, and then check that no rule with that comment is left in the
namespace. The pod is looked up again for the undo: a container restarted meanwhile has a new
PID in the same namespace (the pod's sandbox holds it), and a pod that is gone took its
namespace, and the rules, with it.

iptables: the nf_tables variant (`iptables-nft`), which the kind node images (Debian bookworm)
ship beside the legacy one; both work inside a pod's namespace on this kernel. A pod's
namespace starts empty, so the variant the node itself uses does not matter.
"""

from __future__ import annotations

import gzip
import os
import select
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from kubernetes.client.exceptions import ApiException

from kubepromises.waiting import NotYet, eventually
from testbed.kube import Kube
from testbed.shell import CommandFailed, run

#: Marks every rule this module adds, so a leftover is found by it.
FAULT_COMMENT = "demo-micro-fault"
IPTABLES = "iptables-nft"
#: The cluster DNS port (UDP and TCP).
DNS_PORT = 53
#: Each docker exec + nsenter + iptables call.
COMMAND_TIMEOUT = 30.0


class FaultLeftBehind(AssertionError):
    """A fault rule is still in a pod's namespace after its undo."""


@dataclass(frozen=True)
class PodNetns:
    """Where to enter a pod's network namespace: its kind node and a PID inside it."""

    pod: str
    node: str
    pid: int


# -- pure helpers ---------------------------------------------------------------------------


def container_id(container_status_id: str) -> str:
    """`containerd://<id>` → `<id>`; anything else is refused (not a containerd pod)."""
    runtime, sep, ident = container_status_id.partition("://")
    if runtime != "containerd" or not sep or not ident:
        raise ValueError(f"not a containerd container ID: {container_status_id!r}")
    return ident


def task_pid(listing: str, container: str) -> int:
    """The PID of `container` in `ctr -n k8s.io tasks ls` output (TASK PID STATUS), which must
    be RUNNING: a stopped task's PID enters no namespace."""
    for line in listing.splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 3 and fields[0] == container:
            if fields[2] != "RUNNING":
                raise LookupError(f"task {container} is {fields[2]}, not RUNNING")
            return int(fields[1])
    raise LookupError(f"no task {container} in:\n{listing}")


def partition_rules(peers: Sequence[str], port: int) -> list[tuple[str, ...]]:
    """Rule specs (chain first) that drop TCP between the pod and each peer on `port`: what
    the pod sends to it, and what comes back from it."""
    rules: list[tuple[str, ...]] = []
    for peer in peers:
        rules.append(("OUTPUT", "-p", "tcp", "-d", peer, "--dport", str(port)))
        rules.append(("INPUT", "-p", "tcp", "-s", peer, "--sport", str(port)))
    return rules


def dns_outage_rules() -> list[tuple[str, ...]]:
    """Rule specs that drop every answer from port 53, UDP and TCP (queries still leave: a
    UDP query dropped on its way out would fail `sendto` at once instead of timing out)."""
    return [("INPUT", "-p", proto, "--sport", str(DNS_PORT)) for proto in ("udp", "tcp")]


#: What a fault rule does with the packets it matches, unless told otherwise.
DROP: tuple[str, ...] = ("DROP",)


def iptables_command(
    action: str, rule: tuple[str, ...], target: tuple[str, ...] = DROP
) -> list[str]:
    """`iptables-nft -w 5 -I|-D CHAIN <match> -m comment --comment demo-micro-fault -j DROP`
    (or another `target` with its options)."""
    if action not in ("-I", "-D"):
        raise ValueError(f"action must be -I (insert) or -D (delete), not {action!r}")
    chain, *match = rule
    return [
        IPTABLES,
        "-w",
        "5",
        action,
        chain,
        *match,
        "-m",
        "comment",
        "--comment",
        FAULT_COMMENT,
        "-j",
        *target,
    ]


def in_netns(where: PodNetns, command: Sequence[str]) -> list[str]:
    """`command` run in the pod's network namespace, from its node."""
    return ["docker", "exec", where.node, "nsenter", "-t", str(where.pid), "-n", *command]


def fault_rules(rules_listing: str) -> list[str]:
    """The lines of `iptables -S` output that this module added."""
    return [line for line in rules_listing.splitlines() if FAULT_COMMENT in line]


def kernel_config_line(option: str, config_text: str) -> str:
    """The line of a kernel config that sets `option` (`CONFIG_X=y`) or says it is not set
    (`# CONFIG_X is not set`); "" when the config does not mention it."""
    for line in config_text.splitlines():
        if line.startswith(f"{option}=") or line.strip() == f"# {option} is not set":
            return line.strip()
    return ""


def read_kernel_config(path: Path = Path("/proc/config.gz")) -> str:
    """The running kernel's config ("" where the kernel does not expose it)."""
    try:
        return gzip.decompress(path.read_bytes()).decode(errors="replace")
    except OSError:
        return ""


# -- against the cluster --------------------------------------------------------------------


def locate(kube: Kube, pod: str) -> PodNetns:
    """The pod's node and the PID of its first container's running task there."""
    status = kube.pod(pod)
    node = str(status.spec.node_name)
    ident = container_id(str(status.status.container_statuses[0].container_id))
    listing = run(
        ["docker", "exec", node, "ctr", "-n", "k8s.io", "tasks", "ls"],
        timeout=COMMAND_TIMEOUT,
        what=f"ctr tasks ls on {node}",
    )
    return PodNetns(pod, node, task_pid(listing, ident))


def leftover_rules(where: PodNetns) -> list[str]:
    """The fault rules still in the pod's namespace."""
    listing = run(
        in_netns(where, [IPTABLES, "-w", "5", "-S"]),
        timeout=COMMAND_TIMEOUT,
        what=f"iptables -S in {where.pod}",
    )
    return fault_rules(listing)


def pod_in_place(kube: Kube, pod: str) -> bool:
    """The pod exists and is not being deleted (a pod being deleted takes its namespace, and
    the rules in it, with it)."""
    return any(
        p.metadata.name == pod and p.metadata.deletion_timestamp is None for p in kube.pods()
    )


@contextmanager
def dropped(
    kube: Kube, pod: str, rules: Sequence[tuple[str, ...]], target: tuple[str, ...] = DROP
) -> Iterator[PodNetns]:
    """The rules inserted in the pod's namespace for the block, deleted afterwards however the
    block ends; raises FaultLeftBehind if any fault rule is still there after the undo."""
    where = locate(kube, pod)
    inserted: list[tuple[str, ...]] = []
    try:
        for rule in rules:
            run(
                in_netns(where, iptables_command("-I", rule, target)),
                timeout=COMMAND_TIMEOUT,
                what=f"fault rule in {pod}",
            )
            inserted.append(rule)
        yield where
    finally:
        _undo(kube, pod, inserted, target)


def _undo(
    kube: Kube, pod: str, inserted: Sequence[tuple[str, ...]], target: tuple[str, ...]
) -> None:
    if not inserted or not pod_in_place(kube, pod):
        return  # nothing added, or the namespace goes with the pod
    errors = []
    try:
        where = locate(kube, pod)  # again: a restarted container has a new PID
        for rule in inserted:
            try:
                run(
                    in_netns(where, iptables_command("-D", rule, target)),
                    timeout=COMMAND_TIMEOUT,
                    what=f"undo fault rule in {pod}",
                )
            except CommandFailed as error:
                errors.append(str(error))
        left = leftover_rules(where)
    except (LookupError, ValueError, CommandFailed, ApiException):
        # The pod's deletion began meanwhile (its container stopped): the namespace goes too.
        if not pod_in_place(kube, pod):
            return
        raise
    if left:
        raise FaultLeftBehind(f"{pod} still has fault rules: {left}; undo errors: {errors}")


def peers(kube: Kube, service: str, pods: str) -> list[str]:
    """Where a client's packets to a Service go: its cluster IP (as the client sends them,
    before kube-proxy translates it) and the own IPs of its pods (the label selector `pods`)."""
    cluster_ip = kube.core.read_namespaced_service(service, kube.namespace).spec.cluster_ip
    return [str(cluster_ip), *(str(p.status.pod_ip) for p in kube.pods(pods) if p.status.pod_ip)]


@contextmanager
def partition(kube: Kube, pod: str, peers: Sequence[str], port: int) -> Iterator[PodNetns]:
    """The pod cut off from each peer (an IP or CIDR: a Service's cluster IP, as the pod sends
    to it before kube-proxy translates it, and the peer pod's own IP) on TCP `port`."""
    with dropped(kube, pod, partition_rules(peers, port)) as where:
        yield where


def reset_command(peers: Sequence[str], port: int) -> list[str]:
    """`ss -K` over the pod's TCP connections to any of `peers` on `port`: the kernel aborts
    each (SOCK_DESTROY: the pod's socket gets ECONNABORTED, the peer a reset) and ss prints
    the ones it ended, a line each. Needs CONFIG_INET_DIAG_DESTROY (this machine's kernel has
    it)."""
    if not peers:
        raise ValueError("no peer to reset the connections to")
    to_any = " or ".join(f"dst {peer}" for peer in peers)
    return ["ss", "-K", "-t", "-n", "-H", f"( {to_any} ) and dport = :{port}"]


def reset_connections(kube: Kube, pod: str, peers: Sequence[str], port: int) -> int:
    """End every TCP connection the pod holds to the peers on `port` with a reset, both ways
    (new ones go through, as after a proxy's restart); how many it ended."""
    where = locate(kube, pod)
    ended = run(
        in_netns(where, reset_command(peers, port)),
        timeout=COMMAND_TIMEOUT,
        what=f"ss -K in {pod}",
    )
    return len([line for line in ended.splitlines() if line.strip()])


@contextmanager
def dns_outage(kube: Kube, pod: str) -> Iterator[PodNetns]:
    """No DNS answer reaches the pod (UDP and TCP port 53)."""
    with dropped(kube, pod, dns_outage_rules()) as where:
        yield where


# -- latency -----------------------------------------------------------------------------------

#: Starting the delayer in a pod's namespace, and stopping it (it lets go of what it holds).
DELAYER_TIMEOUT = 15.0


def delay_rules(peers: Sequence[str], port: int) -> list[tuple[str, ...]]:
    """Rule specs that send what the pod sends to each peer on TCP `port` to the delayer's
    queue: every round trip on that edge takes the delay once more (the answers come back as
    they are)."""
    return [("OUTPUT", "-p", "tcp", "-d", peer, "--dport", str(port)) for peer in peers]


def queue_target(queue: int) -> tuple[str, ...]:
    """To netfilter queue `queue`; past it unhindered while nothing listens there (the delayer
    gone, however), never dropped."""
    return ("NFQUEUE", "--queue-num", str(queue), "--queue-bypass")


def netns_link(pid: int, proc: Path = Path("/proc")) -> str:
    """`net:[inode]`: the network namespace of process `pid`, as /proc names it."""
    return os.readlink(proc / str(pid) / "ns" / "net")


def host_pid_in(link: str, proc: Path = Path("/proc")) -> int:
    """A process of this host in the network namespace `link` (`net:[inode]`): the kind node's
    PIDs are its own, so a pod's namespace is found on the host by its inode."""
    for entry in sorted(proc.iterdir(), key=lambda e: e.name):
        if not entry.name.isdigit():
            continue
        try:
            if netns_link(int(entry.name), proc) == link:
                return int(entry.name)
        except OSError:
            continue  # gone meanwhile, or not ours to read
    raise LookupError(f"no process of this host is in {link}")


def delayer_command(host_pid: int, queue: int, delay: float) -> list[str]:
    """`testbed.nfqueue` run in the network namespace of `host_pid`, by this Python."""
    return [
        "nsenter",
        "-t",
        str(host_pid),
        "-n",
        sys.executable,
        "-m",
        "testbed.nfqueue",
        "--queue",
        str(queue),
        "--delay-ms",
        str(round(delay * 1000)),
    ]


def _wait_bound(delayer: subprocess.Popen[str], what: str) -> None:
    """Returns once the delayer printed `bound`; raises if it ended or stayed silent."""
    assert delayer.stdout is not None
    ready, _, _ = select.select([delayer.stdout], [], [], DELAYER_TIMEOUT)
    line = delayer.stdout.readline().strip() if ready else ""
    if line != "bound":
        delayer.kill()
        _, err = delayer.communicate(timeout=DELAYER_TIMEOUT)
        raise AssertionError(f"{what} did not start (said {line!r}): {err}")


@contextmanager
def delayed(
    kube: Kube, pod: str, peers: Sequence[str], port: int, delay: float
) -> Iterator[PodNetns]:
    """What the pod sends to each peer on TCP `port` held `delay` seconds (`testbed.nfqueue`,
    run from this host in the pod's network namespace; the kernel has no netem). Undone however
    the block ends: the rules first, then the delayer, which lets go of what it still holds.
    Raises if the delayer stopped before the end (its packets went undelayed meanwhile)."""
    where = locate(kube, pod)
    link = run(
        ["docker", "exec", where.node, "readlink", f"/proc/{where.pid}/ns/net"],
        timeout=COMMAND_TIMEOUT,
        what=f"the network namespace of {pod}",
    ).strip()
    queue = 1000 + int.from_bytes(os.urandom(2)) % 60000
    what = f"the delayer of {pod} (+{delay:g} s to {list(peers)}:{port})"
    delayer = subprocess.Popen(
        delayer_command(host_pid_in(link), queue, delay),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_bound(delayer, what)
        with dropped(kube, pod, delay_rules(peers, port), queue_target(queue)) as inside:
            yield inside
        if delayer.poll() is not None:
            raise AssertionError(f"{what} stopped early: {delayer.communicate()[1]}")
    finally:
        if delayer.poll() is None:
            delayer.terminate()
        try:
            delayer.communicate(timeout=DELAYER_TIMEOUT)
        except subprocess.TimeoutExpired:
            delayer.kill()
            delayer.communicate()
            raise FaultLeftBehind(f"{what} did not stop when asked") from None


# -- a PostgreSQL server crash ---------------------------------------------------------------

#: The server process `crash_postgres` kills, by the title PostgreSQL gives it.
CRASHED_PROCESS = "postgres: walwriter"


def process_titled(listing: str, title: str) -> int:
    """The PID of the process titled `title` in `children_listing` output ("PID TITLE" lines)."""
    for line in listing.splitlines():
        pid, _, rest = line.strip().partition(" ")
        if rest.strip() == title:
            return int(pid)
    raise LookupError(f"no process titled {title!r} among:\n{listing}")


def children_listing(pid: int) -> str:
    """A shell command printing "PID TITLE" for each child of `pid` (run on the node)."""
    return (
        f"for c in $(cat /proc/{pid}/task/{pid}/children); do "
        'printf "%s " "$c"; tr "\\0" " " < /proc/$c/cmdline; echo; done'
    )


def crash_postgres(kube: Kube, pod: str) -> int:
    """Crash the pod's PostgreSQL server without a shutdown: SIGKILL to its WAL writer, from the
    node. The postmaster takes a child killed by a signal for a crash: it ends every session,
    throws its shared memory away (with any WAL not yet written from it) and replays the WAL
    from the last checkpoint, in the same container, as after one backend is OOM-killed. What
    a commit acknowledged without its WAL on disk (`synchronous_commit = off`) is lost here; a
    pod deletion, by contrast, shuts the server down and writes everything first. Returns the
    PID killed."""
    where = locate(kube, pod)  # the container's first process: the postmaster
    listing = run(
        ["docker", "exec", where.node, "sh", "-c", children_listing(where.pid)],
        timeout=COMMAND_TIMEOUT,
        what=f"PostgreSQL's server processes in {pod}",
    )
    victim = process_titled(listing, CRASHED_PROCESS)
    run(
        ["docker", "exec", where.node, "kill", "-KILL", str(victim)],
        timeout=COMMAND_TIMEOUT,
        what=f"SIGKILL to {CRASHED_PROCESS} in {pod}",
    )
    return victim


# -- a full volume ---------------------------------------------------------------------------

#: The source name of the filesystem `on_small_filesystem` mounts, which marks it in the node's
#: mount table, so that a leftover is found by it.
FULL_VOLUME_SOURCE = "demo-micro-fault"
#: The file that takes up a full volume's free space, in the volume's top directory (beside the
#: database's own subdirectory).
FILLER = "demo-micro-fault-filler"
#: Where the node keeps a volume's data while it is being put back.
SAVED = "/var/lib/demo-micro-fault"
#: Room above the data when the volume is moved: the server starts and runs as before (a new
#: 16-MiB WAL segment included) until the filler takes it.
HEADROOM_BYTES = 64 * 2**20
#: Stopping or starting the StatefulSet whose volume is moved.
RESTART_TIMEOUT = 120.0


@dataclass(frozen=True)
class HostVolume:
    """A local volume: the node holding it and its directory there."""

    claim: str
    node: str
    path: str


def host_volume(kube: Kube, claim: str) -> HostVolume:
    """Where a claim's volume lives: local-path's hostPath (or a `local` volume) on one node."""
    volume = kube.core.read_namespaced_persistent_volume_claim(claim, kube.namespace).spec
    pv = kube.core.read_persistent_volume(volume.volume_name).spec
    source = pv.host_path or pv.local
    if source is None:
        raise LookupError(f"{claim}'s volume {volume.volume_name} is not a directory on a node")
    terms = pv.node_affinity.required.node_selector_terms if pv.node_affinity else []
    nodes = [
        value
        for term in terms
        for expression in term.match_expressions or []
        if expression.key == "kubernetes.io/hostname"
        for value in expression.values
    ]
    if len(nodes) != 1:
        raise LookupError(f"{claim}'s volume is not pinned to one node: {nodes}")
    return HostVolume(claim, nodes[0], str(source.path))


def move_onto_small_filesystem(path: str, headroom: int, saved: str = SAVED) -> str:
    """A shell script (run on the node, the volume's users stopped) that puts the directory's
    data on a tmpfs the size of that data plus `headroom` bytes, mounted over the directory. The
    data on the disk below stays as it was, unseen, until `put_back` replaces it."""
    return (
        f"set -eu; d={path}; s={saved}/$(basename $d); "
        'rm -rf "$s"; mkdir -p "$s"; cp -a "$d/." "$s/"; '
        f'used=$(du -sb "$s" | cut -f1); '
        f'mount -t tmpfs -o "size=$((used + {headroom})),mode=0777" {FULL_VOLUME_SOURCE} "$d"; '
        'cp -a "$s/." "$d/" || { umount "$d"; exit 1; }; rm -rf "$s"'
    )


def fill(path: str, leave: int) -> str:
    """A shell script that takes the free bytes of the filesystem holding `path`, all but
    `leave` of them, with the filler (grown if it is there), then prints the bytes still free."""
    return (
        f"set -eu; f={path}/{FILLER}; free=$(df --output=avail -B1 {path} | tail -n 1); "
        'size=$(stat -c %s "$f" 2>/dev/null || echo 0); '
        f'fallocate -l $((size + free - {leave})) "$f"; '
        f"df --output=avail -B1 {path} | tail -n 1"
    )


def put_back(path: str, saved: str = SAVED) -> str:
    """A shell script (the volume's users stopped) that undoes `move_onto_small_filesystem`,
    keeping what was written meanwhile: the small filesystem's data replaces the disk's, and the
    filler is dropped. Without the small filesystem there (never moved, or put back already) it
    changes nothing."""
    return (
        f"set -eu; d={path}; s={saved}/$(basename $d); "
        f'findmnt -n -S {FULL_VOLUME_SOURCE} -M "$d" >/dev/null || exit 0; '
        f'rm -f "$d/{FILLER}"; rm -rf "$s"; mkdir -p "$s"; cp -a "$d/." "$s/"; '
        'umount "$d"; find "$d" -mindepth 1 -delete; cp -a "$s/." "$d/"; rm -rf "$s"'
    )


def on_node(node: str, script: str, what: str) -> str:
    return run(["docker", "exec", node, "sh", "-c", script], timeout=RESTART_TIMEOUT, what=what)


def _scaled_to(kube: Kube, statefulset: str, replicas: int) -> None:
    """The StatefulSet scaled to `replicas`, and back to that many Ready pods (or none left)."""
    kube.scale("StatefulSet", statefulset, replicas)

    def settled() -> None:
        state = kube.workload("StatefulSet", statefulset)
        pods = kube.pods(f"app.kubernetes.io/name={statefulset}")
        if replicas == 0 and pods:
            raise NotYet([p.metadata.name for p in pods])
        if replicas and not state.rolled_out:
            raise NotYet(state)

    eventually(settled, timeout=RESTART_TIMEOUT, what=f"{statefulset} at {replicas} replica(s)")


class SmallVolume:
    """A StatefulSet's volume on a filesystem of its own (`on_small_filesystem`), which the test
    fills and frees."""

    def __init__(self, volume: HostVolume) -> None:
        self.volume = volume

    def fill(self, leave: int = 0) -> int:
        """Take every free byte but `leave`; the bytes free afterwards."""
        path, claim = self.volume.path, self.volume.claim
        return int(on_node(self.volume.node, fill(path, leave), f"filling {claim}").strip())

    def free(self) -> None:
        """Give the space back (the filler deleted), with the server running."""
        path = self.volume.path
        on_node(self.volume.node, f"rm -f {path}/{FILLER}", f"freeing {self.volume.claim}")


@contextmanager
def on_small_filesystem(kube: Kube, statefulset: str, claim: str) -> Iterator[SmallVolume]:
    """A single-replica StatefulSet's volume on a filesystem that can fill, for the block; however
    the block ends, put back on the disk as it was, with what was written meanwhile.

    The testbed's volumes (local-path) are directories on the host's disk, which cannot be
    filled without filling the host. So the volume's data moves, with its server stopped, onto a
    filesystem of its own mounted over the same directory: a tmpfs of the data's size plus
    HEADROOM_BYTES. The server starts on it as before; `fill` then takes its free bytes with a
    file, and the server meets a real ENOSPC from the kernel, as on a full disk. On the way out
    the filler goes, the server is stopped again, the data written meanwhile goes back to the
    disk, and it starts there; FaultLeftBehind if the small filesystem is still mounted then.
    """
    volume = host_volume(kube, claim)
    replicas = kube.workload("StatefulSet", statefulset).desired
    _scaled_to(kube, statefulset, 0)
    try:
        on_node(
            volume.node,
            move_onto_small_filesystem(volume.path, HEADROOM_BYTES),
            f"moving {claim} onto a small filesystem",
        )
        _scaled_to(kube, statefulset, replicas)
        yield SmallVolume(volume)
    finally:
        # Room first, so that the server's shutdown checkpoint is written as usual.
        on_node(volume.node, f"rm -f {volume.path}/{FILLER}", f"freeing {claim}")
        _scaled_to(kube, statefulset, 0)
        on_node(volume.node, put_back(volume.path), f"putting {claim} back on the disk")
        _scaled_to(kube, statefulset, replicas)
        left = on_node(
            volume.node,
            f"findmnt -n -S {FULL_VOLUME_SOURCE} -M {volume.path} || true",
            "leftover mount",
        )
        if left.strip():
            raise FaultLeftBehind(f"{claim} is still on the small filesystem: {left}")


# -- a noisy neighbour -----------------------------------------------------------------------

#: Run in the neighbour's container: one process spinning per core it is given (argv[1]).
SPIN = (
    "import os, sys\n"
    "for _ in range(int(sys.argv[1]) - 1):\n"
    "    if os.fork() == 0:\n"
    "        break\n"
    "while True:\n"
    "    pass\n"
)
NEIGHBOUR_LABEL = "demo-micro-fault/noisy-neighbour"


def neighbour_pod(name: str, node: str, image: str, cores: int) -> dict[str, object]:
    """A pod pinned to `node` that spins `cores` processes for ever. It is BestEffort (no
    request, no limit): the kernel gives it the least weight of any pod on the node, which is
    what the other pods' CPU requests buy them."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {NEIGHBOUR_LABEL: "true"}},
        "spec": {
            "nodeName": node,
            "restartPolicy": "Never",
            "automountServiceAccountToken": False,
            "terminationGracePeriodSeconds": 0,
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": 10001,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "containers": [
                {
                    "name": "spin",
                    "image": image,
                    "imagePullPolicy": "IfNotPresent",
                    "command": ["python", "-c", SPIN, str(cores)],
                    "resources": {},
                    "securityContext": {
                        "allowPrivilegeEscalation": False,
                        "readOnlyRootFilesystem": True,
                        "capabilities": {"drop": ["ALL"]},
                    },
                }
            ],
        },
    }


def cpu_usage_script(pid: int) -> str:
    """A shell script (run on the node) printing the CPU nanoseconds used by the cgroup of
    process `pid`: cgroup v2's `cpu.stat` (usage_usec), or v1's `cpuacct.usage` (this machine's
    kind nodes mount v1)."""
    return (
        f"set -eu; p=/proc/{pid}/cgroup; "
        "if [ -f /sys/fs/cgroup/cgroup.controllers ]; then "
        "c=$(cut -d: -f3 $p); awk '/^usage_usec /{print $2 * 1000}' /sys/fs/cgroup$c/cpu.stat; "
        "else c=$(grep -E '^[0-9]+:(cpu,)?cpuacct:' $p); c=${c#*:}; c=${c#*:}; "
        "cat /sys/fs/cgroup/cpuacct$c/cpuacct.usage; fi"
    )


#: A throttled container's CPU: this many microseconds per CFS period (100 ms): 1 % of a core.
THROTTLED_QUOTA_US = "1000"


def cpu_quota_script(
    pid: int, quota: str = "", cgroups: str = "/sys/fs/cgroup", proc: str = "/proc"
) -> str:
    """A shell script (run on the node) printing the CFS quota per period of the container
    cgroup that holds process `pid` (microseconds; "-1" on v1 and "max" on v2 for none), then
    setting it to `quota` if given (a value as printed)."""
    return (
        f"set -eu; p={proc}/{pid}/cgroup; q={quota}; "
        f"if [ -f {cgroups}/cgroup.controllers ]; then "
        f"c=$(cut -d: -f3 $p); f={cgroups}$c/cpu.max; read -r had period < $f; echo $had; "
        'if [ -n "$q" ]; then echo "$q $period" > $f; fi; '
        "else c=$(grep -E '^[0-9]+:cpu(,cpuacct)?:' $p); c=${c#*:}; c=${c#*:}; "
        f"f={cgroups}/cpu$c/cpu.cfs_quota_us; cat $f; "
        'if [ -n "$q" ]; then echo "$q" > $f; fi; fi'
    )


@contextmanager
def throttled(kube: Kube, pod: str) -> Iterator[str]:
    """The pod's first container held to THROTTLED_QUOTA_US of CPU per period for the block (its
    cgroup's CFS quota, written on its node); its own quota put back however the block ends.
    Yields the quota it had."""
    where = locate(kube, pod)

    def quota(value: str = "") -> str:
        return run(
            ["docker", "exec", where.node, "sh", "-c", cpu_quota_script(where.pid, value)],
            timeout=COMMAND_TIMEOUT,
            what=f"the CPU quota of {pod}",
        ).strip()

    had = quota(THROTTLED_QUOTA_US)
    try:
        yield had
    finally:
        quota(had)
        left = quota()
        if left != had:
            raise FaultLeftBehind(f"{pod}'s CPU quota is {left}, not {had} as before")


class Neighbour:
    """A running noisy neighbour (`noisy_neighbour`)."""

    def __init__(self, kube: Kube, name: str) -> None:
        self.kube, self.name = kube, name

    def cpu_seconds(self) -> float:
        """The CPU seconds the neighbour's container has used so far (its cgroup's, read on
        its node)."""
        where = locate(self.kube, self.name)
        used = run(
            ["docker", "exec", where.node, "sh", "-c", cpu_usage_script(where.pid)],
            timeout=COMMAND_TIMEOUT,
            what=f"the CPU use of {self.name}",
        )
        return int(float(used.strip())) / 1e9


@contextmanager
def noisy_neighbour(kube: Kube, node: str, image: str, cores: int) -> Iterator[Neighbour]:
    """A pod on `node` using every core it can get (`neighbour_pod`) for the block; deleted
    however the block ends, and FaultLeftBehind if it is still there then."""
    name = f"noisy-neighbour-{os.urandom(3).hex()}"
    kube.core.create_namespaced_pod(kube.namespace, neighbour_pod(name, node, image, cores))
    try:

        def running() -> None:
            status = kube.pod(name).status
            if status.phase == "Failed":  # refused by the node, e.g. OutOfcpu
                raise AssertionError(f"{name} failed on {node}: {status.reason} {status.message}")
            if status.phase != "Running":
                raise NotYet(status.phase)

        eventually(running, timeout=RESTART_TIMEOUT, what=f"{name} running on {node}")
        yield Neighbour(kube, name)
    finally:
        kube.delete_pod(name, grace_seconds=0)

        def gone() -> None:
            left = [p.metadata.name for p in kube.pods(f"{NEIGHBOUR_LABEL}=true")]
            if left:
                raise NotYet(left)

        try:
            eventually(gone, timeout=RESTART_TIMEOUT, what=f"{name} deleted")
        except AssertionError as error:
            raise FaultLeftBehind(str(error)) from error
