"""How long kube-proxy took to write each endpoint change into a node's rules.

Until kube-proxy on a node has rewritten its rules, new connections through that node still go
to a pod that was deleted: a graceful pod keeps answering them for its preStop drain, so the
drain must outlast this lag; a pod already gone drops them, and the client hears nothing.

kube-proxy measures the lag itself, from the change's trigger time (the EndpointSlice
controller's annotation) to the rules written: the histogram
`kubeproxy_network_programming_duration_seconds`, served on 127.0.0.1:10249 in the node's own
network namespace (kube-proxy runs on the host network). The kind node has no HTTP client, so
bash's /dev/tcp asks it. Two readings, one before and one after a run, tell how many changes
of that run took longer than a bound.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from testbed.shell import run

METRIC = "kubeproxy_network_programming_duration_seconds"
METRICS_PORT = 10249
#: A bucket's line; its labels besides `le` (the IP family) vary: each family's count is added.
_BUCKET = re.compile(rf'^{METRIC}_bucket\{{(?:[^}}]*,)?le="([^"]+)"[^}}]*\}} (\S+)$')

#: Bucket upper bound (seconds; +Inf included) → changes programmed within it, cumulative.
Histogram = Mapping[float, int]


def parse(metrics_text: str) -> dict[float, int]:
    """The histogram's buckets from kube-proxy's metrics page; ValueError when it has none."""
    buckets: dict[float, int] = {}
    for line in metrics_text.splitlines():
        if match := _BUCKET.match(line.strip()):
            bound = float(match[1])
            buckets[bound] = buckets.get(bound, 0) + int(float(match[2]))
    if not buckets:
        raise ValueError(f"no {METRIC}_bucket lines in kube-proxy's metrics")
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


def slower_than(before: Histogram, after: Histogram, seconds: float) -> int:
    """How many changes programmed between two readings surely took longer than `seconds`: those
    above the first bucket bound at or above it (a change in that bucket may also have)."""
    bound = min((b for b in after if b >= seconds), default=float("inf"))
    total = after[float("inf")] - before.get(float("inf"), 0)
    within = after.get(bound, 0) - before.get(bound, 0)
    return total - within


def slowest_bound(before: Histogram, after: Histogram) -> float:
    """The smallest bucket bound that every change between the two readings fits under."""
    total = after[float("inf")] - before.get(float("inf"), 0)
    return min(b for b in after if after[b] - before.get(b, 0) >= total)
