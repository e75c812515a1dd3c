"""The campaign's own local stack (it kills processes, so it never shares suites/system's), run
once per session and judged by the tests of this folder.

Options: `--campaign-seed N` replays a campaign (default: a new seed, printed at the end of the
run); `--campaign-minutes M` (alias `--minutes`) runs the operations for M minutes instead of the
local campaign's 15 s (`tox -e campaign -- --minutes 30`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from suites.system.servers import ManagedProcess
from suites.system.stack import Stack, running_infra, running_stack

from . import nemesis, options, runner
from .links import Links

#: The local campaign's start-up (own servers and services) and its final reads, with room for a
#: slow machine.
START_AND_READ_SECONDS = 120

_running: list[Stack] = []


def settings(seed: int, minutes: float | None) -> runner.Settings:
    """The local campaign's settings: the short run's, or `minutes` of operations."""
    if minutes:
        return runner.Settings(seed=seed, duration=minutes * 60)
    return runner.Settings(seed=seed)


def timeout_seconds(minutes: float | None) -> float:
    """A campaign's test in all: start-up and reads, the operations, and every bounded wait
    after them, which grow with the run (`runner.Settings.notification_limit`). It was 240 s
    past the operations, below the settle's own limit: two 8-minute runs under load (6 Dec
    2026) ended in the timeout while the notifications still drained, with no verdict."""
    run = settings(0, minutes)
    return START_AND_READ_SECONDS + run.duration + run.after_operations()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    options.add_timeouts(config, items, Path(__file__).parent, timeout_seconds)


@dataclass(frozen=True)
class CampaignRun:
    campaign: runner.Campaign
    stack: Stack
    #: The figures' prefix: campaign.local, or campaign.long for a --minutes run.
    figures: str
    #: Seconds from the first server's start to the final state read.
    wall_seconds: float


@pytest.fixture(scope="package")
def campaign_run(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CampaignRun]:
    """Own servers and services (order-service's pending bound set low), one campaign run."""
    config = request.config
    seed, minutes = options.seed(config), options.minutes(config)
    run_settings = settings(seed, minutes)
    began = time.monotonic()
    overrides = {
        "PENDING_BOUND_SECONDS": f"{run_settings.pending_bound:g}",
        "RECONCILE_EVERY_SECONDS": f"{run_settings.reconcile_every:g}",
    }
    with running_infra(tmp_path_factory.mktemp("campaign")) as infra:
        runner.durable_commits(infra)
        # Every link between a service and what it calls goes through the relay.
        links = Links(infra.workdir / "links.log")
        try:
            with running_stack(infra, order_overrides=overrides, route=links.add) as stack:
                _running.append(stack)
                try:
                    campaign = runner.run(runner.LocalSystem(stack, links), run_settings)
                    prefix = "campaign.long" if minutes else "campaign.local"
                    yield CampaignRun(campaign, stack, prefix, time.monotonic() - began)
                finally:
                    # Whatever failed, no process is left stopped by a pause (a stopped server
                    # would not even take the stop signal of the teardown).
                    nemesis.resume_all()
                    _running.remove(stack)
        finally:
            links.close()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    seed: int | None = terminalreporter.config.getoption("campaign_seed", default=None)
    seed = seed if seed is not None else getattr(terminalreporter.config, "_campaign_seed", None)
    if seed is not None:
        terminalreporter.write_line(
            f"fault campaign seed {seed} (replay: pytest suites/campaign --campaign-seed {seed})"
        )


def processes(stack: Stack) -> list[ManagedProcess]:
    infra = stack.infra
    services = [stack.gateway, stack.orders, stack.inventory, stack.notifications]
    return [infra.postgres, infra.redis, infra.sqs, infra.mongo, *(s.process for s in services)]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """A failing campaign test's report ends with the tails of its servers' logs."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.failed and call.when == "call" and _running:
        for process in processes(_running[-1]):
            report.sections.append((f"log of {process.name}", process.log_tail(15)))
