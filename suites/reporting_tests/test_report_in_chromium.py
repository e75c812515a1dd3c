"""A synthetic suite run with the plugin and pytest-html; its report opened in headless Chromium."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kubepromises.report.render import BACKGROUNDS
from suites.promises import REPO_ROOT
from suites.reporting_tests import browser

pytest_plugins = ["pytester"]

MATRIX = """
from kubepromises.report.matrix import Figure, Promise

PROMISES = (
    Promise("kept", "key features", "Kept promise", "every replica Ready",
            ("tests/test_kept.py",), (Figure("time to Ready", "ttr.*", "s"),)),
    Promise("broken", "key features", "Broken promise", "zero downtime",
            ("tests/test_broken.py",)),
    Promise("unchecked", "behaviour", "Unchecked promise", "needs a cluster",
            ("tests/test_skipped.py",), pending=("tests/test_missing.py",)),
)
"""

KEPT = """
import json
from pathlib import Path

from testbed.traffic import Outcome, Summary

def test_kept(timeline):
    figures = Path("reports/measurements.json")
    figures.write_text(json.dumps({**json.loads(figures.read_text()), "ttr.api-gateway": 4.8}))
    outcomes = [Outcome(t / 10, "catalogue", 200, "", 0.01, t != 33) for t in range(80)]
    timeline.attach(Summary(outcomes, 8.0), marks={"pod deleted": 3.0})
"""

BROKEN = """
def test_broken():
    assert 1 + 1 == 3, "the rollout dropped requests"
"""

SKIPPED = """
import pytest

def test_skipped():
    pytest.skip("needs the live kind testbed: run with --cluster")
"""

#: Stands in for the root conftest: a failed test gets its diagnostics folder attached.
CONFTEST = """
import pytest
from suites.reporting.attachments import attach_diagnostics

@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed and call.when == "call":
        folder = item.path.parent.parent / "diagnostics"
        attach_diagnostics(report, folder)
"""


@pytest.fixture
def report(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.RunResult:
    """Run the synthetic suite in a subprocess, as tox would, with the repository importable."""
    pytester.makeini("[pytest]\npromise_matrix = synthetic_matrix\n")
    pytester.makepyfile(synthetic_matrix=MATRIX, conftest=CONFTEST)
    tests = pytester.mkpydir("tests")
    (tests / "test_kept.py").write_text(KEPT)
    (tests / "test_broken.py").write_text(BROKEN)
    (tests / "test_skipped.py").write_text(SKIPPED)
    (pytester.path / "reports").mkdir()
    figures = {"ttr.order-service": 9.9}  # measured by an earlier run
    (pytester.path / "reports" / "measurements.json").write_text(json.dumps(figures))
    diagnostics = pytester.path / "diagnostics"
    (diagnostics / "logs").mkdir(parents=True)
    (diagnostics / "events.txt").write_text("Warning  BackOff  pod/api-gateway-1  <restarting>\n")
    (diagnostics / "describe.txt").write_text("Name: api-gateway-1\n")
    (diagnostics / "logs" / "api-gateway-1.log").write_text("x\n" * 5000 + "last line\n")
    monkeypatch.setenv("PYTHONPATH", str(REPO_ROOT))
    monkeypatch.delenv("CI", raising=False)  # the inner run's own behaviour is not under test
    return pytester.runpytest_subprocess(
        "-p",
        "suites.reporting.plugin",
        "-p",
        "no:cacheprovider",
        "--html=out/report.html",
        "--self-contained-html",
        "tests",
    )


def test_the_run_writes_the_matrix_as_json_and_prints_it(
    report: pytest.RunResult, pytester: pytest.Pytester
) -> None:
    report.assert_outcomes(passed=1, failed=1, skipped=1)
    document = json.loads((pytester.path / "out" / "promises.json").read_text())
    verdicts = {p["key"]: p["verdict"] for p in document["promises"]}
    assert verdicts == {"kept": "passed", "broken": "failed", "unchecked": "not verified"}
    figures = document["promises"][0]["figures"]
    assert [(f["key"], f["value"], f["fresh"]) for f in figures] == [
        ("ttr.api-gateway", "4.8 s", True),
        ("ttr.order-service", "9.9 s", False),
    ]
    report.stdout.fnmatch_lines(
        [
            "*promise matrix: 1 failed, 1 not verified, 0 partly verified, 1 passed",
            "*failed: broken (tests/test_broken.py: 1 failed: test_broken)",
            "*not verified: unchecked",
            "*passed: kept",
        ]
    )
    svg = pytester.path / "reports" / "test_kept" / "timeline.svg"
    assert "pod deleted" in svg.read_text()


def test_chromium_renders_the_matrix_first_with_pass_fail_and_not_verified_cells(
    report: pytest.RunResult, pytester: pytest.Pytester, tmp_path: Path
) -> None:
    page = pytester.path / "out" / "report.html"
    dom = browser.dump_dom(page, tmp_path / "profile")

    cells = browser.matrix_cells(dom)
    assert cells.verdicts == {"kept": "passed", "broken": "failed", "unchecked": "not verified"}
    assert cells.claims["unchecked"] == ["not verified", "not verified"]  # skipped, then not run
    # The matrix comes before pytest-html's own results table, which its script has filled in.
    assert 0 < dom.index('id="promise-matrix"') < dom.index('id="results-table"')
    assert dom.count('class="results-table-row') >= 3
    assert "9.9 s (earlier run)" in dom
    assert "4.8 s" in dom
    # The failed row carries its diagnostics (bounded), the resilience-style row its timeline.
    assert "Cluster diagnostics" in dom
    assert "&lt;restarting&gt;" in dom  # escaped, not markup
    assert "last line" in dom
    assert dom.count("\nx") < 100  # the log's tail only
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="timeline"' in dom
    assert "pod deleted (3.0 s)" in dom


def test_the_matrix_is_visible_in_a_screenshot_of_the_top_of_the_report(
    report: pytest.RunResult, pytester: pytest.Pytester, tmp_path: Path
) -> None:
    page = pytester.path / "out" / "report.html"
    shot = browser.screenshot(page, tmp_path / "profile", tmp_path / "top.png", (1200, 900))

    wanted = {v: BACKGROUNDS[v] for v in ("passed", "failed", "not verified")}
    assert browser.colours_present(shot, wanted) == set(wanted)
