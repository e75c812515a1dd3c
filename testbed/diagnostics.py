"""What a person needs to see when a cluster test fails: events, descriptions, pod logs, and
how traffic was routed (EndpointSlices, each node's packet-filter rules with their counters)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from testbed.shell import CommandFailed, run

if TYPE_CHECKING:
    from testbed.cluster import Testbed


def collect(bed: Testbed, folder: Path) -> Path:
    """Write the namespace's events, `describe` of its pods and workloads, its EndpointSlices,
    pod logs, and each node's iptables rules with their packet counters.

    The counters outlive the moment of a failure: a request refused at a NodePort (a CI run
    of 3 Dec 2026 saw one, never reproduced) is counted on the REJECT rule that refused it,
    kube-proxy's for a Service without endpoints or kube-router's for a network policy."""
    ns = bed.settings.namespace
    (folder / "logs").mkdir(parents=True, exist_ok=True)
    captures = {
        "events.txt": ("get", "events", "-n", ns, "--sort-by=.lastTimestamp"),
        "describe.txt": ("describe", "pods,deployments,statefulsets,pvc", "-n", ns),
        "nodes.txt": ("get", "nodes", "-o", "wide"),
        "endpointslices.yaml": ("get", "endpointslices", "-n", ns, "-o", "yaml"),
    }
    for name, args in captures.items():
        (folder / name).write_text(_kubectl(bed, *args))
    for node in bed.nodes():
        (folder / f"iptables-{node}.txt").write_text(_rules_with_counters(node))
    for pod in bed.kube().pods():
        pod_name = pod.metadata.name
        log = _kubectl(bed, "logs", "-n", ns, pod_name, "--all-containers", "--tail=300")
        previous = _kubectl(
            bed, "logs", "-n", ns, pod_name, "--all-containers", "--previous", "--tail=100"
        )
        (folder / "logs" / f"{pod_name}.log").write_text(
            log + "\n--- previous container ---\n" + previous
        )
    return folder


def _rules_with_counters(node: str) -> str:
    try:
        return run(
            ["docker", "exec", node, "iptables-save", "-c"],
            timeout=60,
            what=f"iptables-save on {node}",
        )
    except CommandFailed as failed:
        return f"(could not capture: {failed})"


def _kubectl(bed: Testbed, *args: str) -> str:
    try:
        return bed.kubectl(*args, timeout=60)
    except CommandFailed as failed:
        return f"(could not capture: {failed})"
