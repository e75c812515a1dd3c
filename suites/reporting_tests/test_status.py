"""Verdicts: a failed test fails its promise; skipped or not run never counts as passed."""

from __future__ import annotations

import pytest

from suites.matrix import Figure, Promise
from suites.reporting import render
from suites.reporting.status import (
    Outcome,
    Result,
    build,
    changed_keys,
    claims,
    judge,
    merge,
    phase_outcome,
    tally,
)

ROLLOUT = Promise(
    "rolling-updates",
    "key features",
    "Rolling updates",
    "Zero-downtime deployments",
    ("suites/static/test_rolling_updates.py", "suites/resilience/test_rolling_update.py"),
    (Figure("traffic during the rollout", "rolling_update_traffic.*"),),
)
STATIC = "suites/static/test_rolling_updates.py::test_every_deployment_rolls"
LIVE = "suites/resilience/test_rolling_update.py::test_rollout[api-gateway]"


def verdict(*results: tuple[str, Outcome]) -> str:
    return judge(ROLLOUT, [Result(n, o) for n, o in results], {}, set()).verdict


def test_every_claimed_test_passing_makes_the_promise_passed() -> None:
    assert verdict((STATIC, "passed"), (LIVE, "passed")) == "passed"


def test_a_failing_test_makes_its_promise_failed() -> None:
    assert verdict((STATIC, "passed"), (LIVE, "failed")) == "failed"
    assert verdict((STATIC, "failed"), (LIVE, "skipped")) == "failed"


def test_a_skipped_test_makes_its_promise_not_verified() -> None:
    assert verdict((STATIC, "skipped"), (LIVE, "skipped")) == "not verified"
    assert verdict((STATIC, "xfailed"), (LIVE, "skipped")) == "not verified"


def test_tests_that_did_not_run_never_count_as_passed() -> None:
    assert verdict() == "not verified"
    assert verdict((STATIC, "passed")) == "partly verified"  # the live module did not run
    assert verdict((STATIC, "passed"), (LIVE, "skipped")) == "partly verified"


def test_an_unexpected_pass_of_a_known_limitation_counts_as_passed() -> None:
    assert verdict((STATIC, "passed"), (LIVE, "xpassed")) == "passed"


@pytest.mark.parametrize(
    ("phases", "expected"),
    [
        ("setup:passed call:passed teardown:passed", "passed"),
        ("setup:passed call:passed teardown:failed", "failed"),
        ("setup:failed teardown:passed", "failed"),
        ("setup:skipped teardown:passed", "skipped"),
        ("setup:passed call:skipped:xfail teardown:passed", "xfailed"),
        ("setup:passed call:passed:xfail teardown:passed", "xpassed"),
    ],
    ids=["pass", "teardown-error", "setup-error", "skip", "xfail", "xpass"],
)
def test_the_phases_of_one_test_merge_into_its_worst_outcome(phases: str, expected: str) -> None:
    outcome: Outcome | None = None
    for phase in phases.split():
        when, result, *xfail = phase.split(":")
        outcome = merge(outcome, phase_outcome(when, result, bool(xfail)))
    assert outcome == expected


def test_a_prefix_claims_its_module_parametrizations_and_folder_but_not_a_longer_name() -> None:
    assert claims("suites/a/test_x.py", "suites/a/test_x.py::test_y")
    assert claims("suites/a/test_x.py::test_y", "suites/a/test_x.py::test_y[p]")
    assert claims("suites/a/", "suites/a/test_x.py::test_y")
    assert not claims("suites/a/test_x.py::test_y", "suites/a/test_x.py::test_y_and_more")
    assert not claims("suites/a/test_x.py", "suites/a/test_x.pyc")


def test_figures_come_from_their_keys_and_say_whether_this_run_measured_them() -> None:
    before = {"rolling_update_traffic.api-gateway": "old", "other": 1}
    after = {**before, "rolling_update_traffic.order-service": "0 failed", "other": 2}
    fresh = changed_keys(before, after)
    assert fresh == {"rolling_update_traffic.order-service", "other"}
    result = judge(ROLLOUT, [], after, fresh)
    assert [(f.instance, f.text, f.fresh) for f in result.figures] == [
        ("api-gateway", "old", False),
        ("order-service", "0 failed", True),
    ]


def test_the_json_and_text_forms_carry_every_verdict() -> None:
    other = Promise("other", "behaviour", "Other", "o", ("suites/static/test_other.py",))
    matrix = build(
        [ROLLOUT, other],
        [Result(STATIC, "passed"), Result(LIVE, "failed")],
        {"rolling_update_traffic.api-gateway": 1.5},
        set(),
    )
    assert tally(matrix) == {"failed": 1, "not verified": 1, "partly verified": 0, "passed": 0}
    promises = render.as_json(matrix)["promises"]
    assert isinstance(promises, list)
    assert [p["verdict"] for p in promises] == ["failed", "not verified"]
    lines = render.text(matrix)
    assert lines[0] == "promise matrix: 1 failed, 1 not verified, 0 partly verified, 0 passed"
    assert "rolling-updates" in lines[1]
    assert "test_rollout[api-gateway]" in lines[1]
    assert "not verified: other" in lines[2]
