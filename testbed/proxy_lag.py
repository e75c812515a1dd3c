"""How long kube-proxy took to write each endpoint change into a node's rules.

Until kube-proxy on a node has rewritten its rules, new connections through that node still go
to a pod that was deleted: a graceful pod keeps answering them for its preStop drain, so the
drain must outlast this lag; a pod already gone drops them, and the client hears nothing.

kube-proxy measures the lag itself, from the change's trigger time (the EndpointSlice
controller's annotation) to the rules written: the histogram
`kubeproxy_network_programming_duration_seconds`, served on 127.0.0.1:10249 in the node's own
network namespace (kube-proxy runs on the host network). The kind node has no HTTP client, so
bash's /dev/tcp asks it. Two readings, one before and one after a run, tell how many changes
of that run took longer than a bound. The histogram counts per node: one endpoint change is
programmed once on each node.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from testbed.shell import run

METRIC = "kubeproxy_network_programming_duration_seconds"
METRICS_PORT = 10249
#: A bucket's line; its labels besides `le` (the IP family) vary: each family's count is added.
_BUCKET = re.compile(rf'^{METRIC}_bucket\{{(?:[^}}]*,)?le="([^"]+)"[^}}]*\}} (\S+)$')

#: Bucket upper bound (seconds; +Inf included) → changes programmed within it, cumulative.
Histogram = Mapping[float, int]


INF = float("inf")


def parse(metrics_text: str) -> dict[float, int]:
    """The histogram's buckets from kube-proxy's metrics page; ValueError when it has none or
    lacks the +Inf bucket (the count of every change)."""
    buckets: dict[float, int] = {}
    for line in metrics_text.splitlines():
        if match := _BUCKET.match(line.strip()):
            bound = float(match[1])
            buckets[bound] = buckets.get(bound, 0) + int(float(match[2]))
    if INF not in buckets:
        raise ValueError(f"no {METRIC}_bucket lines up to +Inf in kube-proxy's metrics")
    return buckets


def read(node: str) -> dict[float, int]:
    """The histogram on one kind node, now."""
    ask = (
        f"exec 3<>/dev/tcp/127.0.0.1/{METRICS_PORT} && "
        "printf 'GET /metrics HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && cat <&3"
    )
    return parse(
        run(["docker", "exec", node, "bash", "-c", ask], timeout=30, what=f"{METRIC} on {node}")
    )


def between(before: Histogram, after: Histogram) -> dict[float, int]:
    """The changes programmed between two readings, per bucket. A kube-proxy restarted in
    between starts counting from zero: its second reading is all there is."""
    if any(after.get(bound, 0) < count for bound, count in before.items()):
        return dict(after)
    return {bound: count - before.get(bound, 0) for bound, count in after.items()}


def slower_than(changes: Histogram, seconds: float) -> int:
    """How many of `changes` surely took longer than `seconds`: those above the first bucket
    bound at or above it (a change in that bucket may also have)."""
    bound = min((b for b in changes if b >= seconds), default=INF)
    return changes[INF] - changes.get(bound, 0)


def slowest_bound(changes: Histogram) -> float:
    """The smallest bucket bound that every one of `changes` fits under; 0 for none."""
    if not changes[INF]:
        return 0.0
    return min(b for b in changes if changes[b] >= changes[INF])


@dataclass(frozen=True)
class Summary:
    """The endpoint changes programmed on every node during a run."""

    changes: int
    slower_than_the_drain: int
    #: The bucket bound the slowest fits under (INF: past the last bound).
    slowest_at_most: float


def summary(changes_per_node: Iterable[Histogram], drain: float) -> Summary:
    """The figures of each node's `between`, added up (the slowest: the slowest node's)."""
    nodes = list(changes_per_node)
    return Summary(
        changes=sum(changes[INF] for changes in nodes),
        slower_than_the_drain=sum(slower_than(changes, drain) for changes in nodes),
        slowest_at_most=max((slowest_bound(changes) for changes in nodes), default=0.0),
    )
