"""A campaign's test timeout leaves room for every bounded wait of the campaign: otherwise a
slow settle (a backlog of notifications still draining) ends in pytest's timeout, and the run
gives no verdict at all instead of the checker's. The settle's limit grows with the run's
length (`runner.Settings.notification_limit`), and the timeouts with it, for any length."""

from __future__ import annotations

import pytest

from suites.campaign import conftest as local
from suites.campaign import runner
from suites.campaign_live import conftest as live

#: Runs of every length the campaigns are run for: the short one, and --minutes 2, 8, 30, 120.
LENGTHS = [None, 2.0, 8.0, 30.0, 120.0]

#: Seed 953984's 8-minute run under load (6 Dec 2026): 497 s of operations, and a backlog that
#: needed the whole fixed 180-s limit at ~5 notifications a second and then 184 lost events
#: resent after it: at least 180 + 184 / 5 s to settle.
SEED_953984_OPERATIONS = 497.0
SEED_953984_SETTLE = 180 + 184 / 5


def room(timeout: float, settings: runner.Settings) -> float:
    """Seconds the timeout leaves beyond the operations and the waits after them."""
    return timeout - settings.duration - settings.after_operations()


@pytest.mark.parametrize("minutes", LENGTHS)
def test_the_local_campaigns_timeout_outlasts_its_waits(minutes: float | None) -> None:
    run = local.settings(0, minutes)
    assert room(local.timeout_seconds(minutes), run) >= local.START_AND_READ_SECONDS


@pytest.mark.parametrize("minutes", LENGTHS)
def test_the_live_campaigns_timeout_outlasts_its_waits(minutes: float | None) -> None:
    run = live.settings(0, minutes)
    assert room(live.timeout_seconds(minutes), run) >= live.START_AND_READ_SECONDS


def test_the_notification_limit_grows_with_the_run_past_what_seed_953984_needed() -> None:
    short, long = local.settings(0, None), local.settings(0, 30)
    run = runner.Settings(seed=953984, duration=SEED_953984_OPERATIONS)
    assert long.notification_limit() > short.notification_limit()
    assert run.notification_limit() > SEED_953984_SETTLE


def test_negative_control_the_old_fixed_limit_was_below_what_seed_953984_needed() -> None:
    # 180 s for any run, before 6 Dec 2026
    fixed = runner.Settings(seed=953984, duration=SEED_953984_OPERATIONS, notification_per_second=0)
    assert fixed.notification_limit() < SEED_953984_SETTLE


def test_negative_control_the_old_local_timeout_left_no_room_for_the_settle() -> None:
    # 240 s, before 6 Dec 2026: below the notifications' own limit alone (180 s) plus the rest
    assert room(240, local.settings(0, None)) < local.START_AND_READ_SECONDS


def test_negative_control_a_fixed_live_timeout_leaves_no_room_for_a_long_runs_settle() -> None:
    # 900 s past the operations, before the limit grew with the run: a 30-minute run's waits
    # alone outgrow it
    long = live.settings(0, 30)
    assert room(900 + long.duration, long) < 0


def test_negative_settings_are_refused_with_a_clear_error() -> None:
    with pytest.raises(ValueError, match="notification_per_second -1"):
        runner.Settings(seed=0, notification_per_second=-1)
