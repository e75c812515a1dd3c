"""The pytest plugin: `--drawing`, the `drawing` fixture, and a broken drawing stopping the run.

Each case is an inner pytest run (pytester) in a folder of its own, with the plugin loaded from
its entry point as in any run.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.kubepromises.example import SHOP

pytest_plugins = ["pytester"]


NAMESPACE_TEST = """
def test_namespace(drawing):
    assert drawing.namespace == "shop"
"""


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """An inner run. It shares this process, where the plugin's package is imported already, so
    pytest would warn that it cannot rewrite its asserts; nothing else differs."""
    return pytester.runpytest_inprocess(
        "-p", "no:cacheprovider", "-W", "ignore::pytest.PytestAssertRewriteWarning", *args
    )


def shop_copy(folder: Path) -> Path:
    """The shop example copied into `folder`; its drawing file."""
    shutil.copytree(SHOP, folder, dirs_exist_ok=True)
    return folder / "drawing.yaml"


def test_the_drawing_fixture_reads_the_file_given_with_the_option(
    pytester: pytest.Pytester,
) -> None:
    # arrange
    pytester.makepyfile(test_it=NAMESPACE_TEST)
    # act
    result = run(pytester, f"--drawing={SHOP / 'drawing.yaml'}")
    # assert
    result.assert_outcomes(passed=1)


def test_without_the_option_the_rootdirs_drawing_yaml_is_read(pytester: pytest.Pytester) -> None:
    shop_copy(pytester.path)
    pytester.makeini("[pytest]\n")
    pytester.makepyfile(test_it=NAMESPACE_TEST)
    result = run(pytester)
    result.assert_outcomes(passed=1)


def test_a_run_without_a_drawing_is_untouched_until_a_test_asks_for_it(
    pytester: pytest.Pytester,
) -> None:
    """The plugin loads into every pytest run: with no drawing it changes nothing, and only a
    test that asks for the drawing fails, saying how to give one."""
    pytester.makepyfile(
        test_it="""
def test_unrelated():
    pass

def test_needs_it(drawing):
    pass
"""
    )
    result = run(pytester)
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*no drawing file: give --drawing PATH*"])


def test_a_drawing_with_a_mistake_stops_the_session_with_the_readers_error(
    pytester: pytest.Pytester,
) -> None:
    # arrange: the shop with one mistake, and a test that would pass
    drawing = shop_copy(pytester.path / "shop")
    text = drawing.read_text()
    assert text.count("replicas: 2, port: 8001") == 1
    drawing.write_text(text.replace("replicas: 2, port: 8001", "replicas: two, port: 8001"))
    line = text[: text.index("replicas: 2, port: 8001")].count("\n") + 1
    pytester.makepyfile(test_it="def test_it():\n    pass\n")
    # act
    result = run(pytester, f"--drawing={drawing}")
    # assert: a usage error naming file, line and field, before any test; no traceback
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: drawing.yaml: 1 mistake in the drawing",
            f"  drawing.yaml:{line}: services[1].replicas: 'two' is not of type 'integer'",
        ]
    )
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
    assert "test_it" not in result.stdout.str()


def test_a_drawing_option_naming_no_file_stops_the_session(pytester: pytest.Pytester) -> None:
    result = run(pytester, "--drawing=nowhere.yaml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --drawing *nowhere.yaml: no such file"])


def test_the_option_is_registered_once(pytester: pytest.Pytester) -> None:
    """The entry point is the only place that adds --drawing (pytest refuses a second)."""
    result = run(pytester, "--help")
    assert result.ret == pytest.ExitCode.OK
    assert len(result.stdout.lines) > 0
    assert sum(line.lstrip().startswith("--drawing=PATH") for line in result.stdout.lines) == 1
