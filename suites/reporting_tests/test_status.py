"""Verdicts: a failed test fails its promise; skipped or not run never counts as passed."""

from __future__ import annotations

import pytest

from kubepromises.report import render
from kubepromises.report.matrix import Figure, Promise
from kubepromises.report.status import (
    Outcome,
    Result,
    across_runs,
    build,
    changed_keys,
    claims,
    judge,
    merge,
    phase_outcome,
    tally,
)
from suites.promises import DRAWING

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


def test_a_test_against_a_fake_verifies_nothing_but_can_fail() -> None:
    faked = Promise("logs", "data flow", "Logs", "l", ("suites/testbed/test_kibana.py",))
    kibana = "suites/testbed/test_kibana.py::test_view"
    assert judge(faked, [Result(kibana, "passed", "kibana")], {}, set()).verdict == "not verified"
    assert judge(faked, [Result(kibana, "failed", "kibana")], {}, set()).verdict == "failed"
    assert judge(faked, [Result(kibana, "passed")], {}, set()).verdict == "passed"  # control


def test_a_claim_of_fakes_alone_neither_verifies_nor_blocks_the_real_tests() -> None:
    both = Promise("logs", "data flow", "Logs", "l", ("suites/testbed/", "suites/observability/"))
    fake = Result("suites/testbed/test_kibana.py::test_view", "passed", "kibana")
    real = Result("suites/observability/test_logs.py::test_latency", "passed")
    assert judge(both, [fake, real], {}, set()).verdict == "passed"
    assert judge(both, [fake], {}, set()).verdict == "not verified"
    assert judge(both, [fake, Result(real.nodeid, "skipped")], {}, set()).verdict == (
        "not verified"
    )


READY = Promise(
    "auto-healing",
    "key features",
    "Auto-healing",
    "a",
    (LIVE.split("::")[0],),
    (Figure("time to Ready", "time_to_ready_seconds.*", "s", 10.0),),
)


def test_a_figure_over_its_threshold_fails_the_promise_and_says_by_how_much() -> None:
    figures = {"time_to_ready_seconds.api-gateway": 4.2, "time_to_ready_seconds.order": 12.5}
    result = judge(READY, [Result(LIVE, "passed")], figures, set(figures))
    assert result.verdict == "failed"
    assert [render.figure_text(f) for f in result.figures] == [
        "api-gateway: 4.2 s (goal ≤ 10 s)",
        "order: 12.5 s (12.5 s > 10 s: over its threshold)",
    ]
    assert "time_to_ready_seconds.order: 12.5 s > 10 s" in render.text([result])[1]


def test_a_figure_within_its_threshold_or_from_an_earlier_run_fails_nothing() -> None:
    within = {"time_to_ready_seconds.api-gateway": 9.9}
    assert judge(READY, [Result(LIVE, "passed")], within, set(within)).verdict == "passed"
    earlier = {"time_to_ready_seconds.api-gateway": 30.0}  # not measured by this run
    assert judge(READY, [Result(LIVE, "passed")], earlier, set()).verdict == "passed"


def test_a_floor_threshold_fails_a_figure_below_it() -> None:
    floor = Figure("throughput", "load.rps", "req/s", 50.0, "at least")
    assert floor.violation(49.0) == "49 req/s < 50 req/s"
    assert floor.violation(50.0) is None
    assert floor.violation("text") is None
    assert floor.goal == "≥ 50 req/s"


def test_outcomes_across_runs_a_failure_anywhere_a_pass_over_a_skip() -> None:
    assert across_runs("skipped", "passed") == "passed"
    assert across_runs("passed", "failed") == "failed"
    assert across_runs("deselected", "skipped") == "deselected"


def test_the_matrix_says_what_each_claim_was_verified_against() -> None:
    # what each suite talks to is promises.yaml's `verified_against`, read with the drawing
    logs = Promise(
        "logs",
        "data flow",
        "Logs",
        "l",
        ("suites/system/test_logs.py", "suites/testbed/"),
        verified_against=DRAWING.verified_against,
    )
    results = [
        Result("suites/system/test_logs.py::test_json", "passed"),
        Result("suites/testbed/test_kibana.py::test_view", "passed", "kibana"),
    ]
    result = judge(logs, results, {}, set())
    lines = render.against_lines(result)
    assert lines[0].startswith("local processes: real PostgreSQL and Redis; stand-ins FerretDB")
    assert lines[1] == "a fake kibana (verifies nothing)"
    assert "a fake kibana (verifies nothing)" in render.html([result])
    assert render.as_json([result])["promises"][0]["verified_against"] == lines  # type: ignore[index]
