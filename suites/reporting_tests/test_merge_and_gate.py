"""One matrix for a CI run (merged from its envs) and the gate CI runs on it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kubepromises.report import render
from kubepromises.report.matrix import Promise
from kubepromises.report.status import Result, build
from suites.reporting import gate, merge

SERVICES = "suites/system/test_x.py::test_service"
LIVE = "suites/resilience/test_y.py::test_live"
TABLE = (
    Promise(
        "both",
        "key features",
        "Both",
        "checked by a service test (fast env) and a live one (e2e env)",
        ("suites/system/test_x.py", "suites/resilience/test_y.py"),
    ),
    Promise(
        "online-only",
        "data flow",
        "Online only",
        "needs images with no offline route",
        ("suites/resilience/test_z.py",),
        verify_in=("online",),
        why_not="offline: no registry route",
    ),
)


def run_document(results: list[Result]) -> dict[str, object]:
    """A promises.json as one env's run writes it."""
    return render.as_json(build(TABLE, results, {}, set()), results, {}, set())


def test_a_promise_checked_half_in_each_env_passes_in_the_merged_matrix() -> None:
    fast = run_document([Result(SERVICES, "passed"), Result(LIVE, "skipped")])
    e2e = run_document([Result(LIVE, "passed")])
    assert gate.verdicts(fast)["both"] == "partly verified"
    runs = merge.Runs()
    merge.add_run(runs, fast, "fast")
    merge.add_run(runs, e2e, "e2e")
    assert {r.promise.key: r.verdict for r in merge.merged(runs, TABLE)}["both"] == "passed"


def test_a_failure_in_any_env_fails_the_merged_promise() -> None:
    runs = merge.Runs()
    merge.add_run(runs, run_document([Result(SERVICES, "failed")]), "fast")
    merge.add_run(runs, run_document([Result(SERVICES, "passed"), Result(LIVE, "passed")]), "e2e")
    assert merge.merged(runs, TABLE)[0].verdict == "failed"


def test_a_test_deselected_in_every_env_stays_unverified_after_the_merge() -> None:
    runs = merge.Runs()
    merge.add_run(runs, run_document([Result(SERVICES, "passed"), Result(LIVE, "deselected")]), "a")
    merge.add_run(runs, run_document([Result(LIVE, "deselected")]), "b")
    assert runs.results[LIVE].outcome == "deselected"
    assert merge.merged(runs, TABLE)[0].verdict == "partly verified"


def test_a_fake_mark_survives_the_merge() -> None:
    runs = merge.Runs()
    merge.add_run(runs, run_document([Result(LIVE, "passed", fake="kibana")]), "a")
    older = run_document([Result(LIVE, "passed", fake="kibana")])
    del older["tests"]  # read from the claims' labels instead
    merge.add_run(runs, older, "b")
    assert runs.results[LIVE] == Result(LIVE, "passed", "kibana")


def test_an_older_promises_json_without_the_tests_list_is_read_from_its_claims() -> None:
    older = run_document([Result(SERVICES, "passed"), Result(LIVE, "passed")])
    del older["tests"]
    runs = merge.Runs()
    merge.add_run(runs, older, "old")
    assert set(runs.results) == {SERVICES, LIVE}


def gate_input(both: str, online_only: str) -> dict[str, object]:
    return {
        "counts": {},
        "promises": [
            {"key": "both", "verdict": both, "verify_in": ["offline", "online"]},
            {"key": "online-only", "verdict": online_only, "verify_in": ["online"]},
        ],
    }


def test_the_gate_passes_a_matrix_that_verifies_what_the_mode_must() -> None:
    assert gate.violations(gate_input("passed", "partly verified"), "offline") == []


def test_the_gate_refuses_a_failed_promise_in_any_mode() -> None:
    assert gate.violations(gate_input("passed", "failed"), "offline") == ["online-only: ✘ failed"]


def test_the_gate_refuses_a_required_promise_that_is_not_passed() -> None:
    assert gate.violations(gate_input("partly verified", "passed"), "offline") == [
        "both: ◐ partly verified, but the offline mode must verify it"
    ]
    assert gate.violations(gate_input("passed", "not verified"), "online") == [
        "online-only: ○ not verified, but the online mode must verify it"
    ]


def test_a_step_down_against_the_previous_matrix_is_shown_as_a_regression() -> None:
    before = gate_input("passed", "not verified")
    after = gate_input("partly verified", "passed")
    assert gate.changes(before, after) == [
        "regression: both ✔ passed → ◐ partly verified",
        "improvement: online-only ○ not verified → ✔ passed",
    ]
    assert gate.changes(after, after) == []


def test_merge_and_gate_from_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(merge, "PROMISES", TABLE)
    monkeypatch.setattr(gate, "PROMISES", TABLE)
    for env, results in {
        "fast": [Result(SERVICES, "passed")],
        "e2e": [Result(LIVE, "passed")],
    }.items():
        (tmp_path / env).mkdir()
        (tmp_path / env / "promises.json").write_text(json.dumps(run_document(results)))
    args = [str(tmp_path / "fast"), str(tmp_path / "e2e"), "-o", str(tmp_path / "ci")]
    assert merge.main(args) == 0
    merged_json = tmp_path / "ci" / "promises.json"
    assert gate.verdicts(json.loads(merged_json.read_text())) == {
        "both": "passed",
        "online-only": "not verified",
    }
    assert "Promise matrix" in (tmp_path / "ci" / "report.html").read_text()
    assert gate.main([str(merged_json), "--mode", "offline"]) == 0
    assert gate.main([str(merged_json), "--mode", "online"]) == 1
    # The negative control: a doctored copy with one failed promise.
    doctored = json.loads(merged_json.read_text())
    doctored["promises"][0]["verdict"] = "failed"
    (tmp_path / "doctored.json").write_text(json.dumps(doctored))
    capsys.readouterr()
    assert (
        gate.main(
            [str(tmp_path / "doctored.json"), "--mode", "offline", "--previous", str(merged_json)]
        )
        == 1
    )
    out = capsys.readouterr().out
    assert "regression: both ✔ passed → ✘ failed" in out
    assert "promise gate (offline): FAILED" in out


def test_merge_refuses_a_missing_run(tmp_path: Path) -> None:
    assert merge.main([str(tmp_path / "e2e"), "-o", str(tmp_path / "ci")]) == 2


def test_a_claim_one_run_covered_in_part_is_whole_when_another_run_covered_it_whole() -> None:
    in_part = run_document([Result(SERVICES, "passed"), Result(LIVE, "passed")])
    in_part["claims_in_part"] = ["suites/resilience/test_y.py"]
    runs = merge.Runs()
    merge.add_run(runs, in_part, "part")
    assert merge.merged(runs, TABLE)[0].verdict == "partly verified"
    whole = run_document([Result(LIVE, "passed")])
    whole["claims_whole"] = ["suites/resilience/test_y.py"]
    merge.add_run(runs, whole, "whole")
    assert merge.merged(runs, TABLE)[0].verdict == "passed"


def test_the_gate_takes_the_mode_the_runs_recorded_and_refuses_to_guess(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gate, "PROMISES", TABLE)
    document = gate_input("passed", "partly verified")
    path = tmp_path / "promises.json"
    for modes, exit_code in (
        (["offline"], 0),
        (["online"], 1),
        ([], 2),
        (["offline", "online"], 2),
    ):
        path.write_text(json.dumps({**document, "modes": modes}))
        assert gate.main([str(path)]) == exit_code, modes
