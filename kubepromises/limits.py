"""Each container's memory limit as the manifests give it, against the limit its running
container has: the kernel's, read from the container's own memory cgroup.

A container's limit is read inside it, by the exec API, with `cat` of the cgroup file that
holds it: `memory.max` on a cgroup v2 host, `memory/memory.limit_in_bytes` on a cgroup v1 host
(`cat` is given both; one exists). The kernel keeps a limit in whole pages, so the limit read
may be below the manifests' by less than a page. A container whose image has no `cat`, or whose
cgroup cannot be read, is not verified: its reading says why, and it never passes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from kubernetes.utils import parse_quantity

from kubepromises.drawing import Drawing
from kubepromises.static import Obj, find

#: The cgroup files that hold a container's memory limit: cgroup v2's, then v1's.
CGROUP_FILES = ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes")
#: The kernel rounds a limit down to whole pages; the largest page size Linux uses is 64 KiB.
PAGE_AT_MOST = 64 * 1024
#: cgroup v1 says "no limit" with a huge number (PAGE_COUNTER_MAX pages), v2 with `max`.
UNLIMITED_FROM = 2**62


@dataclass(frozen=True)
class MemoryLimit:
    """One container's memory limit, as the manifests give it."""

    workload: str
    container: str
    limit: str

    @property
    def bytes(self) -> int:
        return int(parse_quantity(self.limit))

    def __str__(self) -> str:
        return f"{self.workload}/{self.container}"


def memory_limits(drawing: Drawing, overlay: str, manifests: Sequence[Obj]) -> list[MemoryLimit]:
    """The memory limit of every container of the overlay's workloads that has one."""
    found = []
    for workload in drawing.workloads_in(overlay):
        obj = find(manifests, workload.kind, workload.name)
        if obj is None:
            continue
        for container in obj["spec"]["template"]["spec"].get("containers") or []:
            limit = ((container.get("resources") or {}).get("limits") or {}).get("memory")
            if limit is not None:
                found.append(MemoryLimit(workload.name, container["name"], str(limit)))
    return found


def read_command() -> list[str]:
    """What prints the container's memory limit (and a complaint about the other file)."""
    return ["cat", *CGROUP_FILES]


@dataclass(frozen=True)
class LimitReading:
    """What one pod's container has as its memory limit: `bytes` (None: unlimited), or why it
    could not be read (`failed`: not verified)."""

    pod: str
    limit: MemoryLimit
    bytes: int | None
    failed: str | None = None


def without_complaints(printed: str, files: Sequence[str]) -> str:
    """`cat`'s output without its complaint about the file of the other cgroup version, which
    the exec API may glue to the same line as the file it read (`...or directory67108864`)."""
    for path in files:
        printed = printed.replace(f"cat: {path}: No such file or directory", "\n")
    return printed


def parse_reading(pod: str, limit: MemoryLimit, printed: str) -> LimitReading:
    """The reading of `read_command`'s output: a number or `max`, once the complaint about the
    other file is taken out; anything else, not read."""
    value = without_complaints(printed, CGROUP_FILES).strip()
    if value == "max":
        return LimitReading(pod, limit, None)
    if value.isdigit():
        number = int(value)
        return LimitReading(pod, limit, None if number >= UNLIMITED_FROM else number)
    why = f"cannot read {limit}'s memory cgroup in {pod}: {printed[-300:]!r}"
    return LimitReading(pod, limit, None, failed=why)


def mebibytes(size: int) -> str:
    return f"{size / 2**20:g}Mi"


def memory_limit_violations(readings: Sequence[LimitReading]) -> list[str]:
    """Each container read runs limited to its manifests' memory limit (to the page). Readings
    that failed are not violations, nor passes (`unread`); no reading at all is a violation."""
    if not readings:
        return ["no container with a memory limit was read"]
    violations = []
    for reading in readings:
        if reading.failed is not None:
            continue
        wanted = reading.limit.bytes
        if reading.bytes is None:
            violations.append(
                f"pod {reading.pod}'s {reading.limit} runs without a memory limit; the "
                f"manifests give {reading.limit.limit}"
            )
        elif not 0 <= wanted - reading.bytes < PAGE_AT_MOST:
            violations.append(
                f"pod {reading.pod}'s {reading.limit} runs limited to {reading.bytes} bytes "
                f"({mebibytes(reading.bytes)}); the manifests give {reading.limit.limit} "
                f"({wanted} bytes)"
            )
    return violations


def unread(readings: Sequence[LimitReading]) -> list[str]:
    """Why each reading that failed could not be made (what is not verified)."""
    return [reading.failed for reading in readings if reading.failed is not None]


# -- going over the limit ------------------------------------------------------------------------

#: The cgroup files that count a container's memory, cgroup v2's then v1's, and the counters in
#: them of the memory its processes hold themselves (not the pages of files read, which the
#: kernel takes back before it kills): v2's `anon`, v1's `total_rss` (or `rss`).
STAT_FILES = ("/sys/fs/cgroup/memory.stat", "/sys/fs/cgroup/memory/memory.stat")
HELD_COUNTERS = ("anon", "total_rss", "rss")
#: A limit below this starves the container runtime's own start-up in the container's cgroup
#: (its init process), which then fails to start rather than being OOM-killed: not the promise.
#: Measured on the testbed (5 Dec 2026, runc, cgroup v1): at 2 MiB the pod's sandbox failed to
#: start; at 4 MiB the container failed to be created twice (exit code 128) before a third try
#: was OOMKilled; at 5 MiB a Python process was OOMKilled at its first start.
STARVING_AT_LEAST = 5 * 2**20
#: The most of what the processes hold once started that a starving limit may be: well under
#: it, so that a process whose start-up needs somewhat less than its steady state still cannot
#: start.
STARVING_SHARE_AT_MOST = 2 / 3


def stat_command() -> list[str]:
    """What prints the container's memory counters (and a complaint about the other file)."""
    return ["cat", *STAT_FILES]


def held_bytes(printed: str) -> int | None:
    """The memory the container's processes hold, from `stat_command`'s output; None when it
    printed no such counter."""
    counters: dict[str, int] = {}
    for line in without_complaints(printed, STAT_FILES).splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            counters.setdefault(parts[0], int(parts[1]))
    return next((counters[name] for name in HELD_COUNTERS if name in counters), None)


def starving_limit(held: int) -> int | None:
    """A memory limit the container's processes cannot start in: half of what they hold once
    started, in whole MiB, and no less than what the runtime's own start-up needs
    (STARVING_AT_LEAST); None when that is not well under what they hold
    (STARVING_SHARE_AT_MOST)."""
    limit = max(held // 2 // 2**20 * 2**20, STARVING_AT_LEAST)
    return limit if limit <= held * STARVING_SHARE_AT_MOST else None


def oom_kills(pods: Sequence[Obj]) -> list[str]:
    """Each container of the pods that the kernel ended for going over its memory limit and the
    kubelet started again: its last termination's reason is OOMKilled, and it has restarted."""
    found = []
    for pod in pods:
        for status in pod.get("status", {}).get("containerStatuses") or []:
            last = (status.get("lastState") or {}).get("terminated") or {}
            restarts = status.get("restartCount") or 0
            if last.get("reason") == "OOMKilled" and restarts >= 1:
                found.append(
                    f"pod {pod['metadata']['name']}'s {status['name']}: OOMKilled, "
                    f"{restarts} restarts"
                )
    return found
