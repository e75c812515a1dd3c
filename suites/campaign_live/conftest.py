"""The fault campaign on the kind testbed: one run per session, judged by the tests of this
folder. `--campaign-seed N` replays one (the operations and the fault schedule);
`--minutes M` runs the operations for M minutes instead of the short run's
(`tox -e campaign-live -- --minutes 30`); the short run is part of `tox -e e2e`. The
autoscalers sit out, as in the other live suites: the campaign's faults are its own.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from suites.campaign import options, runner
from suites.conformance.conftest import _autoscalers_sit_out
from suites.observability.store import LogStore, opened, ships_logs
from testbed import proxy_lag
from testbed.cluster import Testbed
from testbed.kube import Kube
from testbed.shell import CommandFailed

from .system import (
    PENDING_BOUND,
    RECONCILE_EVERY,
    RESEND_AFTER,
    LiveSystem,
    thawed_on_sigterm,
)

__all__ = ["_autoscalers_sit_out", "live_campaign_run"]

#: The short run's operations: 45 s, in e2e about 120 s of wall time in all (issue 13 allows
#: 4 min; 60 s took 133 s with 16 faults on 4 Dec 2026, and e2e has about 2 min to spare), and
#: their pace (issue 13 asks >= 20 a second of the live one).
SHORT_SECONDS = 45.0
RATE = 20.0
#: Beside the operations and the bounded waits after them (`runner.Settings.after_operations`):
#: the start-up (kube-proxy's metrics read on every node) and the final reads in the pods
#: (38-47 s measured), with room for a slow machine. The short run's timeout stays near the
#: 900 s it had when it was a fixed number.
START_AND_READ_SECONDS = 400


def settings(seed: int, minutes: float | None) -> runner.Settings:
    """The campaign's settings against the deployed configuration (order-service's timings,
    and SQS's 30-s visibility timeout, which the deployment leaves as it is)."""
    return runner.Settings(
        seed=seed,
        duration=minutes * 60 if minutes else SHORT_SECONDS,
        rate=RATE,
        fault_start=5.0,
        quiet_tail=10.0,
        resolve_timeout=15.0,
        pending_bound=PENDING_BOUND,
        reconcile_every=RECONCILE_EVERY,
        # Above the resend delay: a resend that would duplicate a notification happens within.
        notification_dwell=RESEND_AFTER + 5,
        # A batch a restarted consumer had received stays invisible for 30 s, and a resend
        # waits 30 s: a backlog may make no progress for that long.
        notification_timeout=45.0,
        notification_base=300.0,
    )


def timeout_seconds(minutes: float | None) -> float:
    """A live campaign's test in all: start-up and reads, the operations, and every bounded
    wait after them, which grow with the run (`runner.Settings.notification_limit`)."""
    run = settings(0, minutes)
    return START_AND_READ_SECONDS + run.duration + run.after_operations()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    options.add_timeouts(config, items, Path(__file__).parent, timeout_seconds)


@dataclass(frozen=True)
class LiveCampaignRun:
    campaign: runner.Campaign
    system: LiveSystem
    #: campaign.live, or campaign.live_long for a --minutes run.
    figures: str
    wall_seconds: float
    #: The endpoint changes kube-proxy programmed on each node during the campaign, per bucket
    #: (proxy_lag.between); a node whose metrics could not be read after it: the error.
    programming: Mapping[str, proxy_lag.Histogram | str]


@pytest.fixture(scope="package")
def live_campaign_run(
    request: pytest.FixtureRequest, testbed: Testbed, kube: Kube, gateway_url: str, overlay: str
) -> LiveCampaignRun:
    config = request.config
    seed, minutes = options.seed(config), options.minutes(config)
    began = time.monotonic()
    system = LiveSystem(testbed, kube, gateway_url, overlay, seed)
    before = {node: proxy_lag.read(node) for node in testbed.nodes()}
    with thawed_on_sigterm():
        campaign = runner.run(system, settings(seed, minutes))
    programming = {node: _programmed_since(node, was) for node, was in before.items()}
    prefix = "campaign.live_long" if minutes else "campaign.live"
    return LiveCampaignRun(campaign, system, prefix, time.monotonic() - began, programming)


@pytest.fixture(scope="package")
def campaign_logs(testbed: Testbed, kube: Kube, overlay: str) -> Iterator[LogStore | None]:
    """The log store the services' lines reach, to trace the campaign's requests in; None where
    the overlay ships no logs."""
    if not ships_logs(overlay):
        yield None
        return
    with opened(testbed, kube, overlay) as store:
        yield store


def _programmed_since(node: str, before: proxy_lag.Histogram) -> proxy_lag.Histogram | str:
    """The changes since `before`; a failed reading is said, not raised: it must not cost the
    campaign's verdict (30 minutes of operations for the long run)."""
    try:
        return proxy_lag.between(before, proxy_lag.read(node))
    except (CommandFailed, ValueError) as failed:
        return f"{node}: {failed}"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    config = terminalreporter.config
    seed: int | None = config.getoption("campaign_seed", default=None)
    seed = seed if seed is not None else getattr(config, "_campaign_seed", None)
    if seed is not None:
        terminalreporter.write_line(
            f"live fault campaign seed {seed} "
            f"(replay: pytest suites/campaign_live --campaign-seed {seed})"
        )
