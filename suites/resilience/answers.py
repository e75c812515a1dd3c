"""What the fault tests check in the traffic probe's answers during a fault: which failed
without the designed answer, which were late, which were sent when; and whether the service
itself was restarted meanwhile. Pure functions of the outcomes, but for `restart_counts` (which
reads the cluster) and `order_acknowledged_after` (the probe as it runs)."""

from __future__ import annotations

from collections.abc import Iterable

from kubepromises.waiting import NotYet
from suites.resilience.live import selector
from testbed.kube import Kube
from testbed.traffic import Outcome, Summary, Target, TrafficProbe


def unclean(outcomes: list[Outcome], allowed: frozenset[int]) -> list[Outcome]:
    """Failed requests whose answer is not one of `allowed` with a JSON error body (no answer
    at all included)."""
    return [
        o
        for o in outcomes
        if not o.ok
        and not (o.status in allowed and isinstance(o.response, dict) and "detail" in o.response)
    ]


def failures_among(summary: Summary, targets: Iterable[Target]) -> list[Outcome]:
    """The failed requests to `targets` (e.g. the paths a fault should leave alone)."""
    names = {target.name for target in targets}
    return [outcome for outcome in summary.failures if outcome.target in names]


def slow(outcomes: list[Outcome], bound: float) -> list[Outcome]:
    """Requests answered (or given up on) later than `bound` seconds after they were sent."""
    return [o for o in outcomes if o.latency > bound]


def by_status(outcomes: list[Outcome]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for o in outcomes:
        key = str(o.status) if o.status is not None else o.error
        counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items()))


def restart_counts(kube: Kube, workload: str) -> dict[str, int]:
    """Pod name → container restarts, for every pod of the workload."""
    return {
        p.metadata.name: sum(int(c.restart_count) for c in p.status.container_statuses or [])
        for p in kube.pods(selector(workload))
    }


def between(outcomes: list[Outcome], start: float, end: float, *names: str) -> list[Outcome]:
    """The requests of these targets sent between two moments of the probe's clock."""
    return [o for o in outcomes if start <= o.at <= end and o.target in names]


def order_acknowledged_after(probe: TrafficProbe, since: float) -> float:
    """The probe's time at which an order sent after `since` was acknowledged."""
    answered = [
        o.at + o.latency for o in probe.snapshot().outcomes if o.status == 201 and o.at > since
    ]
    if not answered:
        raise NotYet(f"no order acknowledged since t={since:.1f}s; {probe.snapshot()}")
    return min(answered)
