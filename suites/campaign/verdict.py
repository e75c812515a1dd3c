"""What both campaigns (the local stack's and the testbed's) judge and record: the checker's
limits and the figures of a run."""

from __future__ import annotations

from collections import Counter

from suites.resilience.live import record
from system.api_gateway.config import Settings as GatewaySettings

from . import nemesis
from .checker import Limits, Violation, waited_for_gateway
from .runner import Campaign

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


def record_figures(
    campaign: Campaign,
    limits: Limits,
    prefix: str,
    wall_seconds: float,
    violations: list[Violation],
) -> None:
    """The run's figures in reports/measurements.json, under `prefix` (campaign.local, ...)."""
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
    rules = Counter(v.rule for v in violations)
    record(f"{prefix}.anomalies_by_rule", ", ".join(f"{r} x{n}" for r, n in rules.most_common()))
    record(f"{prefix}.wall_seconds", round(wall_seconds, 1))
    record(f"{prefix}.phases", phases(campaign, wall_seconds))


def phases(campaign: Campaign, wall_seconds: float) -> str:
    """Seconds per phase: start-up (servers, services), then the campaign's own."""
    start_up = wall_seconds - campaign.phases["total"]
    named = {"start-up": start_up, **campaign.phases}
    return ", ".join(f"{name} {seconds:.1f} s" for name, seconds in named.items())
