"""The campaign's command-line options (registered in the root conftest.py): the seed to replay
and the minutes of a long campaign."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pytest

from suites.waiting import scaled


def seed(config: pytest.Config) -> int:
    """`--campaign-seed`, or a new seed drawn once per session (printed at the end)."""
    given: int | None = config.getoption("campaign_seed", default=None)
    if given is not None:
        return given
    cached: int | None = getattr(config, "_campaign_seed", None)
    if cached is None:
        cached = random.SystemRandom().randrange(1, 1_000_000)
        config._campaign_seed = cached  # type: ignore[attr-defined]
    return cached


def minutes(config: pytest.Config) -> float | None:
    """`--campaign-minutes` (`--minutes`): a long campaign's length; None for the short one."""
    given: float | None = config.getoption("campaign_minutes", default=None)
    return given


def add_timeouts(
    config: pytest.Config,
    items: list[pytest.Item],
    folder: Path,
    seconds: Callable[[float | None], float],
) -> None:
    """Each test of `folder` without a timeout gets `seconds(minutes)`, for the run's
    `--minutes` (None: the short run), scaled for a slow machine. A function of the run's
    length, as the waits after the operations grow with it (`runner.Settings.after_operations`)."""
    timeout = scaled(seconds(minutes(config)))
    for item in items:
        if item.path.is_relative_to(folder) and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(timeout))
