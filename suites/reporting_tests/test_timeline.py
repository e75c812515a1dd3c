"""The traffic timeline SVG: bars per second in the right place, faults marked, valid XML."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from testbed.timeline import Bucket, buckets, nice_ceiling, render
from testbed.traffic import Outcome, Summary

SVG = "{http://www.w3.org/2000/svg}"


def outcome(at: float, ok: bool = True) -> Outcome:
    return Outcome(at, "catalogue", 200 if ok else 503, "", 0.01, ok)


def steady_with_failures(seconds: int, rate: int, failing: dict[int, int]) -> Summary:
    """`rate` requests each second; in second s, the first failing[s] of them fail."""
    outcomes = [
        outcome(s + i / rate, ok=i >= failing.get(s, 0))
        for s in range(seconds)
        for i in range(rate)
    ]
    return Summary(outcomes, float(seconds))


def bars(svg: str, kind: str) -> dict[float, int]:
    root = ET.fromstring(svg)
    return {
        float(r.get("data-second", "nan")): int(r.get("data-count", "-1"))
        for r in root.iter(f"{SVG}rect")
        if r.get("class") == kind
    }


def test_failures_land_in_the_second_they_happened() -> None:
    summary = steady_with_failures(10, 20, {4: 3, 5: 20})
    assert [b.failures for b in buckets(summary)] == [0, 0, 0, 0, 3, 20, 0, 0, 0, 0]
    assert bars(render(summary), "failures") == {4.0: 3, 5.0: 20}


def test_every_second_gets_a_bar_of_its_request_rate() -> None:
    summary = steady_with_failures(6, 10, {})
    assert bars(render(summary), "requests") == {float(s): 10 for s in range(6)}
    assert {b.rate for b in buckets(summary)} == {10.0}


def test_a_short_last_second_is_not_shown_as_a_spike_or_a_dip() -> None:
    summary = Summary([outcome(0.1), outcome(0.5), outcome(1.05)], 1.1)
    assert buckets(summary) == [Bucket(0.0, 1.0, 2, 0), Bucket(1.0, 0.5, 1, 0)]


def test_fault_moments_are_vertical_lines_with_their_labels() -> None:
    svg = render(steady_with_failures(20, 5, {}), {"pod deleted": 4.25, "replacement Ready": 9.5})
    root = ET.fromstring(svg)
    lines = {
        m.get("data-label"): float(m.get("data-at", "nan"))
        for m in root.iter(f"{SVG}line")
        if m.get("class") == "mark"
    }
    assert lines == {"pod deleted": 4.25, "replacement Ready": 9.5}
    labels = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "mark-label"]
    assert labels == ["pod deleted (4.2 s)", "replacement Ready (9.5 s)"]
    first, second = (m for m in root.iter(f"{SVG}line") if m.get("class") == "mark")
    assert float(first.get("x1", "0")) < float(second.get("x1", "0"))


def test_labels_and_titles_are_escaped() -> None:
    svg = render(Summary([outcome(0.2)], 1.0), {"<b>&": 0.5}, title='a "quoted" <title>')
    root = ET.fromstring(svg)  # would raise on unescaped markup
    assert [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "mark-label"] == [
        "<b>& (0.5 s)"
    ]


def test_no_traffic_still_renders_an_empty_chart() -> None:
    root = ET.fromstring(render(Summary([], 0.0)))
    assert root.tag == f"{SVG}svg"
    assert bars(render(Summary([], 0.0)), "requests") == {}


def test_the_axis_maximum_is_a_round_number_at_or_above_the_peak() -> None:
    assert [nice_ceiling(v) for v in (0, 0.3, 1, 7, 41, 55, 101)] == [1, 0.5, 1, 10, 50, 100, 200]
