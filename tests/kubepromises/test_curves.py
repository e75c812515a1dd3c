"""Curves in the HTML report (kubepromises.report.curves): each SVG the `curves` ini names is
shown as an image with when its points were measured and whether this session wrote it; what
cannot be shown is said."""

from __future__ import annotations

import base64
import json
import os
import re
from pathlib import Path

import pytest

from kubepromises.report import plot
from kubepromises.report.curves import caption, find_curves, html

pytest_plugins = ["pytester"]

POINTS = {
    "2": {"points": [{"rps": 116.3, "at": "2026-12-06T04:21:59+00:00"}]},
    "4": {"points": [{"rps": 114.5, "at": "2026-12-06T04:24:53+00:00"}]},
}


def chart() -> str:
    return plot.line_chart(
        title="saturation",
        x_label="requests/s",
        y_label="p95 (ms)",
        series=[plot.Series("2 replicas", ((116.3, 100.0), (189.8, 110.0)))],
    )


def curve_files(folder: Path, name: str = "saturation", *, figures: object = POINTS) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    svg = folder / f"{name}.svg"
    svg.write_text(chart())
    if figures is not None:
        (folder / f"{name}.json").write_text(json.dumps(figures))
    return svg


def test_a_curve_is_shown_as_its_own_svg_with_when_it_was_measured(tmp_path: Path) -> None:
    svg = curve_files(tmp_path / "docs")
    os.utime(svg, (1_000_000, 1_000_000))  # written long before this session

    found, problems = find_curves(tmp_path, ["docs/*.svg"], session_began=2_000_000)
    section = html(found, problems)

    assert problems == []
    (curve,) = found
    assert curve.measured == ("2026-12-06T04:21:59+00:00", "2026-12-06T04:24:53+00:00")
    assert not curve.fresh
    assert (
        "saturation.svg: measured 2026-12-06T04:21:59+00:00 to 2026-12-06T04:24:53+00:00, "
        "an earlier run" in section
    )
    (encoded,) = re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', section)
    assert base64.b64decode(encoded) == svg.read_bytes()
    assert "<svg" not in section  # an image, never markup of the page


def test_a_curve_this_session_wrote_says_so(tmp_path: Path) -> None:
    svg = curve_files(tmp_path / "reports")
    found, _ = find_curves(tmp_path, ["reports/*.svg"], session_began=svg.stat().st_mtime - 1)
    (curve,) = found
    assert curve.fresh
    assert caption(curve).endswith(", this session")


def test_each_file_is_shown_once_in_the_patterns_order(tmp_path: Path) -> None:
    curve_files(tmp_path / "docs", "workers")
    curve_files(tmp_path / "docs", "saturation")
    found, problems = find_curves(tmp_path, ["docs/w*.svg", "docs/*.svg"], session_began=0)
    assert [c.path.name for c in found] == ["workers.svg", "saturation.svg"]
    assert problems == []


def test_negative_control_a_curve_without_its_figures_says_its_time_is_unknown(
    tmp_path: Path,
) -> None:
    curve_files(tmp_path / "docs", figures=None)
    curve_files(tmp_path / "docs", "broken", figures=None)
    (tmp_path / "docs" / "broken.json").write_text("{not json")
    curve_files(tmp_path / "docs", "timeless", figures={"points": [{"rps": 1}]})

    found, _ = find_curves(tmp_path, ["docs/*.svg"], session_began=0)
    captions = [caption(c) for c in found]

    assert [c.measured for c in found] == [None, None, None]
    assert captions[0].startswith("broken.svg: when measured unknown (broken.json is not JSON")
    assert captions[1] == (
        "saturation.svg: when measured unknown (no saturation.json beside it), this session"
    )
    assert captions[2].startswith("timeless.svg: when measured unknown (timeless.json holds no")


@pytest.mark.parametrize("content", ["<html><script>alert(1)</script></html>", "not a chart"])
def test_negative_control_a_file_that_is_no_svg_is_not_shown(tmp_path: Path, content: str) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "fake.svg").write_text(content)

    found, problems = find_curves(tmp_path, ["docs/*.svg"], session_began=0)

    assert found == []
    assert problems == ["fake.svg is not an SVG document: not shown"]
    assert "<img" not in html(found, problems)


def test_a_pattern_that_matches_nothing_is_said(tmp_path: Path) -> None:
    found, problems = find_curves(tmp_path, ["reports/load-curves/*.svg"], session_began=0)
    assert found == []
    assert problems == ["no curve matches reports/load-curves/*.svg"]
    assert "<li><small>no curve matches reports/load-curves/*.svg</small></li>" in html(
        found, problems
    )


def test_the_html_report_shows_the_curves_after_the_matrix(pytester: pytest.Pytester) -> None:
    # arrange: a project with one promise, one test, and the curves ini naming one chart
    curve_files(pytester.path / "curves")
    pytester.makeini(
        "[pytest]\npromise_matrix = matrix_module\ncurves =\n    curves/*.svg\n    none/*.svg\n"
    )
    pytester.makepyfile(
        matrix_module="from kubepromises.report.matrix import Promise\n"
        "PROMISES = (Promise('one', 'behaviour', 'One', 'one', ('test_one.py',)),)\n",
        test_one="def test_one():\n    assert 1 + 1 == 2\n",
    )
    pytester.syspathinsert()
    # act
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--html=report.html")
    # assert
    assert result.ret == pytest.ExitCode.OK
    page = (pytester.path / "report.html").read_text()
    matrix, section = page.index('id="promise-matrix"'), page.index('id="curves"')
    assert matrix < section
    assert "saturation.svg: measured 2026-12-06T04:21:59+00:00 to" in page
    assert "no curve matches none/*.svg" in page
