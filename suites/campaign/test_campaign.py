"""Promise: orders stay correct under generated input and faults.

A seeded campaign of client operations runs against the local stack while a nemesis kills and
stops its processes; the checker then judges the history and the final state of the databases
(see `checker.RULES`). A failure prints the seed, the anomalies and the part of the history
that concerns them; `--campaign-seed N` replays the inputs and the fault schedule. A run whose
notifications were still draining at the settle's limit, with nothing else broken, is skipped
as not verified (`verdict.judge`): its missing notifications are late, not known to be lost.
"""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import pytest

from suites.resilience.live import MEASUREMENTS, record

from . import traces, verdict
from .checker import Limits, check
from .conftest import CampaignRun, processes
from .history import Answer
from .runner import Campaign
from .shrink import involved, shortened

#: After a fault window closes (the process ready again), clients may still meet 503/504 while
#: pools reconnect and the gateway's Redis cool-down (1 s on the local stack) ends.
FAULT_GRACE_SECONDS = 3.0


def limits(campaign: Campaign) -> Limits:
    return verdict.limits(campaign, FAULT_GRACE_SECONDS, gateway="api_gateway")


def _record_figures(run: CampaignRun, judged: verdict.Judgement) -> None:
    verdict.record_figures(
        run.campaign, limits(run.campaign), run.figures, run.wall_seconds, judged.anomalies
    )
    record(f"{run.figures}.notifications.still_draining", len(judged.draining))


def _keep_logs(run: CampaignRun, folder: Path) -> Path:
    """The servers' logs copied out of pytest's temporary directory (which later sessions
    prune) next to the history."""
    folder.mkdir(parents=True, exist_ok=True)
    for process in processes(run.stack):
        if process.log_path.exists():
            shutil.copy(process.log_path, folder / process.log_path.name)
    return folder


def test_orders_stay_correct_under_generated_input_and_faults(campaign_run: CampaignRun) -> None:
    campaign = campaign_run.campaign
    # arrange / act: the campaign ran (the fixture): operations, faults, resolution, dwell
    history = campaign.history
    assert history.faults, "the nemesis injected no fault: the campaign checked nothing"
    assert any(op.status == 201 for op in history.placements), "no order was ever placed"

    # assert: the checker finds nothing in the history and the final state, and nothing was
    # left unchecked by a backlog still draining at the settle's limit
    judged = verdict.judge(campaign, check(history, campaign.state, limits(campaign)))
    _record_figures(campaign_run, judged)
    assert not judged.anomalies, _failure_report(campaign_run, judged)
    if judged.not_verified:
        pytest.skip(f"not verified: {judged.not_verified}\n{_kept(campaign_run)}")


def _failure_report(run: CampaignRun, judged: verdict.Judgement) -> str:
    """The seed, the anomalies and the history that concerns them, then `_kept`, and the
    operations concerned traced through the servers' logs (a file beside the history)."""
    history = run.campaign.history
    find = traces.from_log_files(process.log_path for process in processes(run.stack))
    saved = MEASUREMENTS.parent / "campaign" / f"traces-{history.seed}.txt"
    saved.parent.mkdir(parents=True, exist_ok=True)
    saved.write_text(traces.traced(involved(history, judged.anomalies), find))
    kept = _kept(run, judged.not_verified)
    return f"{shortened(history, judged.anomalies)}\n{kept}\ntraced in the logs: {saved}"


def _kept(run: CampaignRun, not_verified: str = "") -> str:
    """How the settle ended and the phases; the whole history and the servers' logs kept in
    reports/campaign/ (only a run that failed or was not verified: a history is a few MB)."""
    history = run.campaign.history
    folder = MEASUREMENTS.parent / "campaign"
    saved = folder / f"history-{history.seed}.json"
    saved.parent.mkdir(parents=True, exist_ok=True)
    saved.write_text(history.to_json())
    logs = _keep_logs(run, folder / f"logs-{history.seed}")
    notes = "".join(f"\nnot settled: {message}" for message in run.campaign.unsettled)
    notes += f"\n{not_verified}" if not_verified else ""
    phases = verdict.phases(run.campaign, run.wall_seconds)
    notes += f"\nphases: {phases}\nfull history: {saved}\nserver logs: {logs}"
    return notes


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


def test_an_operation_is_traced_through_the_servers_logs_by_its_request_id(
    campaign_run: CampaignRun,
) -> None:
    """Every request carries its X-Request-ID (the checker holds each answer to it), and the
    services log under it: a failing campaign's operations can be followed through them."""
    # arrange: an order the campaign placed and had confirmed, and a copy of it whose request
    # id was never sent
    history = campaign_run.campaign.history
    placed = next(op for op in history.placements if op.order_status == "confirmed")
    never_sent = copy.deepcopy(placed)
    never_sent.request_id = f"{placed.request_id}-never-sent"
    find = traces.from_log_files(process.log_path for process in processes(campaign_run.stack))

    # act
    logged, unlogged = traces.traced([placed], find), traces.traced([never_sent], find)

    # assert: the gateway's access line and order-service's lines under the one, nothing under
    # the other
    under = [line.split()[1] for line in logged.splitlines()[2:]]
    assert {"api-gateway", "order-service"} <= set(under), logged
    assert "api-gateway info: POST /api/orders 201" in logged, logged
    assert f"no service logged request {never_sent.request_id}" in unlogged, unlogged
