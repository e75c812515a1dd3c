"""Promise: orders stay correct under generated input and faults.

A seeded campaign of client operations runs against the local stack while a nemesis kills and
stops its processes; the checker then judges the history and the final state of the databases
(see `checker.RULES`). A failure prints the seed, the anomalies and the part of the history
that concerns them; `--campaign-seed N` replays the inputs and the fault schedule.
"""

from __future__ import annotations

import copy
import shutil
from collections import Counter
from pathlib import Path

from suites.resilience.live import MEASUREMENTS, record
from system.api_gateway.config import Settings as GatewaySettings

from . import nemesis
from .checker import Limits, Violation, check, waited_for_gateway
from .conftest import CampaignRun, processes
from .history import Answer
from .runner import Campaign
from .shrink import shortened

#: After a fault window closes (the process ready again), clients may still meet 503/504 while
#: pools reconnect and the gateway's Redis cool-down (1 s on the local stack) ends.
FAULT_GRACE_SECONDS = 3.0
#: Beyond its read timeout, a gateway request may wait for a connect (1 s) and for Redis (0.25 s
#: a call until the first failure starts its cool-down), and the 2-core machine's scheduling
#: adds the rest; the upstream pool's 2 s wait needs 200 requests at once, far above the
#: campaign's load. The campaign's stack runs the gateway with its default timeouts.
GATEWAY_OVERHEAD_SECONDS = 4.0


def answer_deadline() -> float:
    """Seconds within which the gateway answers, whatever hangs behind it."""
    return GatewaySettings().upstream_read_timeout_seconds + GATEWAY_OVERHEAD_SECONDS


def limits(campaign: Campaign) -> Limits:
    return Limits(
        pending_bound=campaign.settings.pending_bound + campaign.settings.reconciler_slack,
        fault_grace=FAULT_GRACE_SECONDS,
        answer_deadline=answer_deadline(),
    )


def _record_figures(run: CampaignRun, violations: list[Violation]) -> None:
    history, prefix = run.campaign.history, run.figures
    generated = [op for op in history.operations if op.kind != "resolve"]
    record(f"{prefix}.seed", history.seed)
    record(f"{prefix}.operations", len(generated))
    record(f"{prefix}.operations_resolving", len(history.operations) - len(generated))
    record(f"{prefix}.bad_requests", sum(op.kind == "bad_request" for op in generated))
    pauses = [w.resumed - w.start for w in history.faults if w.resumed is not None]
    record(f"{prefix}.longest_pause_seconds", round(max(pauses, default=0), 1))
    # The limits once: they read the gateway's settings from the environment (pydantic), which
    # for each of a 30-min campaign's operations outlasted the test's timeout (3 Dec 2026).
    gateway = limits(run.campaign).gateway
    waits = [waited_for_gateway(op, history.faults, gateway) for op in generated]
    record(f"{prefix}.slowest_answer_seconds", round(max((w for w in waits if w), default=0), 1))
    answers = Counter(op.status for op in generated if op.status and op.status >= 500)
    record(f"{prefix}.answers_5xx", ", ".join(f"{s} x{n}" for s, n in sorted(answers.items())))
    duration = run.campaign.settings.duration
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
    record(f"{prefix}.wall_seconds", round(run.wall_seconds, 1))
    record(f"{prefix}.phases", _phases(run))


def _keep_logs(run: CampaignRun, folder: Path) -> Path:
    """The servers' logs copied out of pytest's temporary directory (which later sessions
    prune) next to the history."""
    folder.mkdir(parents=True, exist_ok=True)
    for process in processes(run.stack):
        if process.log_path.exists():
            shutil.copy(process.log_path, folder / process.log_path.name)
    return folder


def _phases(run: CampaignRun) -> str:
    """Seconds per phase: start-up (servers, services), then the campaign's own."""
    phases = {"start-up": run.wall_seconds - run.campaign.phases["total"], **run.campaign.phases}
    return ", ".join(f"{name} {seconds:.1f} s" for name, seconds in phases.items())


def test_orders_stay_correct_under_generated_input_and_faults(campaign_run: CampaignRun) -> None:
    campaign = campaign_run.campaign
    # arrange / act: the campaign ran (the fixture): operations, faults, resolution, dwell
    history = campaign.history
    assert history.faults, "the nemesis injected no fault: the campaign checked nothing"
    assert any(op.status == 201 for op in history.placements), "no order was ever placed"

    # assert: the checker finds nothing in the history and the final state
    violations = check(history, campaign.state, limits(campaign))
    _record_figures(campaign_run, violations)
    assert not violations, _failure_report(campaign_run, violations)


def _failure_report(run: CampaignRun, violations: list[Violation]) -> str:
    """The seed, the anomalies and the history that concerns them; the whole history and the
    servers' logs kept in reports/campaign/ (only a failing run's: a history is a few MB)."""
    history = run.campaign.history
    folder = MEASUREMENTS.parent / "campaign"
    saved = folder / f"history-{history.seed}.json"
    saved.parent.mkdir(parents=True, exist_ok=True)
    saved.write_text(history.to_json())
    logs = _keep_logs(run, folder / f"logs-{history.seed}")
    notes = "".join(f"\nnot settled: {message}" for message in run.campaign.unsettled)
    notes += f"\nphases: {_phases(run)}\nfull history: {saved}\nserver logs: {logs}"
    return f"{shortened(history, violations)}\n{notes}"


def test_a_failing_history_is_shortened_to_its_anomalies(campaign_run: CampaignRun) -> None:
    # arrange: a copy of the campaign's history with one order answered 500
    campaign = campaign_run.campaign
    history = copy.deepcopy(campaign.history)
    op = next(op for op in history.placements if op.status == 201 and op.key)
    op.answer = Answer(500, {"detail": "planted", "status": 500}, True, {})

    # act
    violations = check(history, campaign.state, limits(campaign))
    text = shortened(history, [v for v in violations if f"#{op.index}" in v.evidence])

    # assert: the seed and how to replay it, the planted operation, and not the whole history
    assert f"--campaign-seed {history.seed}" in text
    assert f" #{op.index} place/" in text, text
    assert len(text.splitlines()) < len(history.operations), text
