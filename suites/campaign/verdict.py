"""What both campaigns (the local stack's and the testbed's) judge and record: the checker's
limits, the verdict read with how the settle ended, and the figures of a run."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from suites.resilience.live import record
from system.api_gateway.config import Settings as GatewaySettings

from . import nemesis
from .checker import ONE_NOTIFICATION, Limits, Violation, unnotified, waited_for_gateway
from .runner import Campaign, Drain

#: Beyond its read timeout, a gateway request may wait for a connect (1 s) and for Redis (0.25 s
#: a call until the first failure starts its cool-down), and the 2-core machine's scheduling
#: adds the rest; the upstream pool's 2 s wait needs 200 requests at once, far above the
#: campaign's load. Both campaigns run the gateway with its default timeouts.
GATEWAY_OVERHEAD_SECONDS = 4.0


def answer_deadline() -> float:
    """Seconds within which the gateway answers, whatever hangs behind it."""
    return GatewaySettings().upstream_read_timeout_seconds + GATEWAY_OVERHEAD_SECONDS


def limits(campaign: Campaign, fault_grace: float, gateway: str) -> Limits:
    """The checker's limits; `fault_grace`: how long after a fault window closes clients may
    still meet 503/504; `gateway`: the name of the gateway's fault target."""
    return Limits(
        pending_bound=campaign.settings.pending_bound + campaign.settings.reconciler_slack,
        fault_grace=fault_grace,
        answer_deadline=answer_deadline(),
        gateway=gateway,
    )


@dataclass(frozen=True)
class Judgement:
    """The checker's violations, read with how the settle ended."""

    #: What the run broke.
    anomalies: list[Violation]
    #: Confirmed orders without their notification while the backlog still drained at the
    #: settle's limit: late, not known to be lost, and not checked either.
    draining: list[Violation]
    #: Why the run is not verified in full ("" when it is).
    not_verified: str

    @property
    def passed(self) -> bool:
        """Nothing broken, and everything checked."""
        return not self.anomalies and not self.not_verified


def judge(campaign: Campaign, violations: list[Violation]) -> Judgement:
    """A confirmed order without its notification is lost when the backlog stalled or the
    settle completed, and still draining when the settle's limit came while the backlog went
    down: then it is neither an anomaly nor checked, and the run is not verified. Every other
    violation (an order lost, stock oversold, a duplicate notification) counts as it is."""
    drain = campaign.notifications
    if drain.ended != "draining":
        return Judgement(violations, [], "")
    late = unnotified(campaign.state)
    draining = [v for v in violations if v.rule == ONE_NOTIFICATION and v.evidence & late]
    anomalies = [v for v in violations if v not in draining]
    return Judgement(anomalies, draining, still_draining(drain, len(draining)) if draining else "")


def still_draining(drain: Drain, orders: int) -> str:
    """The report's sentence for a backlog still going down at the settle's limit."""
    return (
        f"not settled: {drain.missing} notifications still draining at the limit "
        f"(falling at {drain.falling_per_second:.1f}/s; limit {drain.limit:.0f} s): "
        f"{orders} confirmed orders without their notification at the final read are late, "
        "not known to be lost, and not checked"
    )


def record_figures(
    campaign: Campaign,
    limits: Limits,
    prefix: str,
    wall_seconds: float,
    violations: list[Violation],
) -> None:
    """The run's figures in reports/measurements.json, under `prefix` (campaign.local, ...);
    `violations`: the anomalies (`Judgement.anomalies`: not the orders still draining)."""
    history = campaign.history
    generated = [op for op in history.operations if op.kind != "resolve"]
    record(f"{prefix}.seed", history.seed)
    record(f"{prefix}.operations", len(generated))
    record(f"{prefix}.operations_resolving", len(history.operations) - len(generated))
    record(f"{prefix}.bad_requests", sum(op.kind == "bad_request" for op in generated))
    pauses = [w.resumed - w.start for w in history.faults if w.resumed is not None]
    record(f"{prefix}.longest_pause_seconds", round(max(pauses, default=0), 1))
    # The limits once: they read the gateway's settings from the environment (pydantic), which
    # for each of a 30-min campaign's operations outlasted the test's timeout (3 Dec 2026).
    waits = [waited_for_gateway(op, history.faults, limits.gateway) for op in generated]
    record(f"{prefix}.slowest_answer_seconds", round(max((w for w in waits if w), default=0), 1))
    answers = Counter(op.status for op in generated if op.status and op.status >= 500)
    record(f"{prefix}.answers_5xx", ", ".join(f"{s} x{n}" for s, n in sorted(answers.items())))
    duration = campaign.settings.duration
    record(f"{prefix}.operations_per_second", round(len(generated) / duration, 1))
    kinds = Counter(w.kind for w in history.faults)
    for kind in nemesis.KINDS:
        record(f"{prefix}.faults.{kind}", kinds.get(kind, 0))
    for kind in ("sever", "reset"):
        ended = sum(w.ended for w in history.faults if w.kind == kind)
        record(f"{prefix}.connections_ended.{kind}", ended)
    targets = Counter(f"{w.kind} {w.target}" for w in history.faults)
    record(f"{prefix}.faults_by_target", ", ".join(f"{k} x{n}" for k, n in sorted(targets.items())))
    record(f"{prefix}.anomalies", len(violations))
    drain = campaign.notifications
    record(f"{prefix}.notifications.settle_ended", drain.ended)
    record(f"{prefix}.notifications.missing_at_the_end", drain.missing)
    record(f"{prefix}.notifications.falling_per_second", round(drain.falling_per_second, 1))
    record(f"{prefix}.notifications.limit_seconds", round(drain.limit))
    rules = Counter(v.rule for v in violations)
    record(f"{prefix}.anomalies_by_rule", ", ".join(f"{r} x{n}" for r, n in rules.most_common()))
    if campaign.probe_answers:  # asked by the campaign (locally), not by a kubelet
        asked = campaign.probe_answers.items()
        record(f"{prefix}.probes", ", ".join(f"{k} x{n}" for k, n in asked))
    record(f"{prefix}.wall_seconds", round(wall_seconds, 1))
    record(f"{prefix}.phases", phases(campaign, wall_seconds))


def phases(campaign: Campaign, wall_seconds: float) -> str:
    """Seconds per phase: start-up (servers, services), then the campaign's own."""
    start_up = wall_seconds - campaign.phases["total"]
    named = {"start-up": start_up, **campaign.phases}
    return ", ".join(f"{name} {seconds:.1f} s" for name, seconds in named.items())
