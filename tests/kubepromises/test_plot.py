"""Charts of measured curves as SVG (kubepromises/report/plot.py): each series drawn through
its points, the marked point ringed, flagged points crossed, the threshold dashed, both axes
from 0 to a round number above the largest value; bad figures refused."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import pytest

from kubepromises.report.plot import Series, Threshold, line_chart, round_up

SVG = "{http://www.w3.org/2000/svg}"


def _drawn(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def _points(element: ET.Element) -> list[tuple[float, float]]:
    return [tuple(map(float, pair.split(","))) for pair in element.attrib["points"].split()]  # type: ignore[misc]


@pytest.mark.parametrize(
    ("value", "rounded"), [(0, 1), (0.3, 0.5), (1, 1), (189.8, 200), (226.4, 250), (251, 500)]
)
def test_an_axis_ends_at_a_round_number_at_or_above_the_largest_value(
    value: float, rounded: float
) -> None:
    assert round_up(value) == rounded


def test_each_series_is_one_line_through_its_points_in_order_of_x() -> None:
    # arrange: two series, one given out of order
    two = Series("2 replicas", ((189.8, 110.0), (116.3, 100.0)))
    four = Series("4 replicas", ((114.5, 110.0), (189.8, 210.0)))

    # act
    svg = _drawn(line_chart("t", "x", "y", [two, four]))

    # assert: one polyline each, named, left to right; the same x lands on the same pixel
    lines = svg.findall(f"{SVG}polyline")
    assert [line.attrib["data-name"] for line in lines] == ["2 replicas", "4 replicas"]
    first, second = (_points(line) for line in lines)
    assert first[0][0] < first[1][0]
    assert first[1][0] == second[1][0]
    assert first[1][1] > second[1][1], "a higher value is drawn higher (a smaller y)"


def test_the_marked_point_is_ringed_and_flagged_points_crossed() -> None:
    low, high = (100.0, 50.0), (200.0, 300.0)
    series = Series("s", (low, high), marked=low, flagged=(high,))
    svg = _drawn(line_chart("t", "x", "y", [series]))

    dots = _points(svg.find(f"{SVG}polyline"))  # type: ignore[arg-type]
    ring = svg.find(f"{SVG}circle[@class='marked']")
    assert ring is not None
    assert (float(ring.attrib["cx"]), float(ring.attrib["cy"])) == dots[0]
    assert len(svg.findall(f"{SVG}path[@class='flagged']")) == 1


def test_the_threshold_is_a_dashed_line_at_its_value_and_the_axis_reaches_it() -> None:
    # arrange: every point below the threshold
    series = Series("s", ((10.0, 100.0), (20.0, 110.0)))

    # act
    svg = _drawn(line_chart("t", "x", "y", [series], Threshold("SLO 250 ms", 250.0)))

    # assert: the dashed line sits above the points, at the top of the axis (250 is round)
    line = svg.find(f"{SVG}line[@class='threshold']")
    assert line is not None
    assert "stroke-dasharray" in line.attrib
    threshold_y = float(line.attrib["y1"])
    assert all(threshold_y < y for _, y in _points(svg.find(f"{SVG}polyline")))  # type: ignore[arg-type]
    assert "SLO 250 ms" in "".join(svg.itertext())


def test_names_and_labels_are_escaped() -> None:
    svg = line_chart("a < b & c", "x", "y", [Series("<script>", ((1.0, 1.0),))])
    assert "<script>" not in svg
    assert _drawn(svg).find(f"{SVG}title").text == "a < b & c"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("series", "message"),
    [
        ([], "at least one series"),
        ([Series("empty", ())], "has no points"),
        ([Series("nan", ((1.0, math.nan),))], "not a finite value"),
        ([Series("negative", ((1.0, -5.0),))], "not a finite value"),
        ([Series("flag", ((1.0, 1.0),), flagged=((math.inf, 1.0),))], "not a finite value"),
    ],
)
def test_negative_control_figures_that_cannot_be_drawn_are_refused(
    series: list[Series], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        line_chart("t", "x", "y", series)
