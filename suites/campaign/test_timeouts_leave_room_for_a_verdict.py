"""A campaign's test timeout leaves room for every bounded wait of the campaign: otherwise a
slow settle (a backlog of notifications still draining) ends in pytest's timeout, and the run
gives no verdict at all instead of the checker's."""

from __future__ import annotations

from suites.campaign import conftest as local
from suites.campaign import runner
from suites.campaign_live import conftest as live


def room(timeout: float, settings: runner.Settings) -> float:
    """Seconds the timeout leaves beyond the operations and the waits after them."""
    return timeout - settings.duration - settings.after_operations()


def test_the_local_campaigns_timeout_outlasts_its_waits() -> None:
    assert room(local.TIMEOUT_SECONDS, local.SHORT_RUN) >= local.START_AND_READ_SECONDS


def test_the_live_campaigns_timeout_outlasts_its_waits() -> None:
    short = live.settings(seed=0, minutes=None)
    # The live timeout is past the operations: add the short run's own.
    assert room(live.TIMEOUT_SECONDS + short.duration, short) > 0


def test_negative_control_the_old_local_timeout_left_no_room_for_the_settle() -> None:
    # 240 s, before 6 Dec 2026: below the notifications' own limit alone (180 s) plus the rest
    assert room(240, local.SHORT_RUN) < local.START_AND_READ_SECONDS
