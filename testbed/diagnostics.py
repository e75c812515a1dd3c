"""What a person needs to see when a cluster test fails: events, descriptions, pod logs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from testbed.shell import CommandFailed

if TYPE_CHECKING:
    from testbed.cluster import Testbed


def collect(bed: Testbed, folder: Path) -> Path:
    """Write the namespace's events, `describe` of its pods and workloads, and pod logs."""
    ns = bed.settings.namespace
    (folder / "logs").mkdir(parents=True, exist_ok=True)
    captures = {
        "events.txt": ("get", "events", "-n", ns, "--sort-by=.lastTimestamp"),
        "describe.txt": ("describe", "pods,deployments,statefulsets,pvc", "-n", ns),
        "nodes.txt": ("get", "nodes", "-o", "wide"),
    }
    for name, args in captures.items():
        (folder / name).write_text(_kubectl(bed, *args))
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


def _kubectl(bed: Testbed, *args: str) -> str:
    try:
        return bed.kubectl(*args, timeout=60)
    except CommandFailed as failed:
        return f"(could not capture: {failed})"
