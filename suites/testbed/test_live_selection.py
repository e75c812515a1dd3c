"""`pytest suites/resilience` runs against the testbed as typed; `pytest` alone never starts one."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from testbed.live import (
    LIVE_SUITES,
    SUITES,
    deletes_at_end,
    live_suite_of,
    names_live_suites_only,
    wants_cluster,
)
from testbed.settings import REPO


@pytest.mark.parametrize(
    "args",
    [
        ["suites/resilience"],
        ["suites/smoke", "suites/conformance/"],
        ["suites/resilience/test_self_healing.py::test_x[api-gateway]"],
        ["suites/load"],
        [str(REPO / "suites" / "observability")],
    ],
)
def test_a_run_naming_live_suites_only_brings_up_the_testbed(args: list[str]) -> None:
    assert wants_cluster(cluster=False, no_cluster=False, args=args, invocation_dir=REPO)


@pytest.mark.parametrize(
    "args",
    [
        [],  # `pytest` alone: the testpaths, which hold the fast suites too
        ["suites"],
        ["suites/static"],
        ["suites/static", "suites/smoke"],  # a mix: the fast part must not wait for a cluster
        ["suites/testbed/test_preflight.py"],
        ["README.md"],
        ["/tmp"],
        ["suites/smokescreen"],  # a name that merely starts like a live suite
    ],
)
def test_any_other_run_starts_no_cluster(args: list[str]) -> None:
    assert not wants_cluster(cluster=False, no_cluster=False, args=args, invocation_dir=REPO)


def test_paths_are_read_from_the_folder_pytest_was_started_in() -> None:
    assert live_suite_of("test_self_healing.py", REPO / "suites" / "resilience") == "resilience"
    assert live_suite_of("../static", REPO / "suites" / "smoke") is None
    assert names_live_suites_only([".", "../smoke"], REPO / "suites" / "conformance")


def test_the_explicit_options_win_over_the_rule() -> None:
    fast = ["suites/static"]
    live = ["suites/resilience"]
    assert wants_cluster(cluster=True, no_cluster=False, args=fast, invocation_dir=REPO)
    assert not wants_cluster(cluster=False, no_cluster=True, args=live, invocation_dir=REPO)
    with pytest.raises(ValueError, match="contradict"):
        wants_cluster(cluster=True, no_cluster=True, args=live, invocation_dir=REPO)


def _marks_cluster(module: Path) -> bool:
    """Whether a test module marks its tests `cluster` (pytestmark or a decorator)."""
    for node in ast.walk(ast.parse(module.read_text())):
        if isinstance(node, ast.Attribute) and node.attr == "cluster":
            value = node.value
            if isinstance(value, ast.Attribute) and value.attr == "mark":
                return True
    return False


def test_the_live_suites_are_exactly_the_folders_that_hold_cluster_tests() -> None:
    # arrange: every suite folder with a test module that marks its tests `cluster`
    holding = {
        module.relative_to(SUITES).parts[0]
        for module in SUITES.glob("*/**/test_*.py")
        if _marks_cluster(module)
    }

    # assert: the rule's list is that set (a new live suite must join LIVE_SUITES)
    assert holding == set(LIVE_SUITES), (
        f"folders with cluster tests: {sorted(holding)}; testbed/live.py's LIVE_SUITES: "
        f"{sorted(LIVE_SUITES)}"
    )


def test_the_cluster_marker_finder_sees_a_marked_module_and_not_a_plain_one(
    tmp_path: Path,
) -> None:
    # negative control of the test above: the finder is not blind
    marked = tmp_path / "test_marked.py"
    marked.write_text("import pytest\npytestmark = [pytest.mark.cluster, pytest.mark.slow]\n")
    plain = tmp_path / "test_plain.py"
    plain.write_text("import pytest\n\n@pytest.mark.slow\ndef test_x():\n    cluster = 1\n")
    assert _marks_cluster(marked)
    assert not _marks_cluster(plain)


def _collect(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


ANNOUNCEMENT = "the paths name live suites only"


@pytest.mark.slow
def test_pytest_on_a_live_suite_says_it_brings_up_the_testbed_and_no_cluster_opts_out() -> None:
    # act: collection only — the line comes before any test, and nothing touches a cluster
    live = _collect("suites/smoke")
    opted_out = _collect("suites/smoke", "--no-cluster")
    fast = _collect("suites/testbed/test_preflight.py")
    no_live_test_selected = _collect("suites/load", "-m", "not cluster")

    # assert
    assert live.returncode == 0, live.stdout + live.stderr
    assert ANNOUNCEMENT in live.stdout, live.stdout
    assert "--no-cluster skips them" in live.stdout
    assert opted_out.returncode == 0, opted_out.stdout + opted_out.stderr
    assert ANNOUNCEMENT not in opted_out.stdout, opted_out.stdout
    assert fast.returncode == 0, fast.stdout + fast.stderr
    assert ANNOUNCEMENT not in fast.stdout, fast.stdout
    assert no_live_test_selected.returncode == 0, no_live_test_selected.stderr
    assert ANNOUNCEMENT not in no_live_test_selected.stdout, no_live_test_selected.stdout


@pytest.mark.slow
def test_cluster_and_no_cluster_together_are_a_usage_error() -> None:
    both = _collect("suites/smoke", "--cluster", "--no-cluster")
    assert both.returncode == pytest.ExitCode.USAGE_ERROR, both.stdout + both.stderr
    assert "contradict" in both.stderr


def test_a_run_deletes_at_its_end_only_a_cluster_it_created() -> None:
    assert deletes_at_end(found=False, keep=False)


def test_negative_control_a_found_or_kept_cluster_is_not_deleted() -> None:
    assert not deletes_at_end(found=True, keep=False)  # reused or attached: someone's cluster
    assert not deletes_at_end(found=False, keep=True)
    assert not deletes_at_end(found=True, keep=True)
