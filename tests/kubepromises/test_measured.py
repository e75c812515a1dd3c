"""The docs' measured figures come from a run's data: `docs/measured.md` is the page generated
from `docs/measured.json` (kubepromises.measured), never typed by hand."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kubepromises import measured

REPO = Path(__file__).resolve().parents[2]
STORED = REPO / "docs" / "measured.json"
PAGE = REPO / "docs" / "measured.md"

#: A promises.json as the report plugin writes it, cut to two promises.
MATRIX = {
    "counts": {"passed": 1, "failed": 1, "partly verified": 0, "not verified": 0},
    "promises": [
        {
            "key": "auto-healing",
            "title": "Auto-healing",
            "verdict": "failed",
            "claims": [],
            "figures": [
                {
                    "label": "time to Ready, p95",
                    "key": "time_to_ready_seconds.p95",
                    "value": "12.5 s",
                    "fresh": True,
                    "goal": "≤ 10 s",
                    "violation": "12.5 s > 10 s",
                }
            ],
        },
        {
            "key": "cache",
            "title": "Cache",
            "verdict": "passed",
            "figures": [
                {
                    "label": "traffic",
                    "key": "cache_loss.x",
                    "value": "689 requests | 0 failed",
                    "goal": None,
                    "violation": None,
                }
            ],
        },
    ],
}


def test_the_docs_page_is_the_one_generated_from_the_stored_run() -> None:
    snap = json.loads(STORED.read_text())
    assert PAGE.read_text() == measured.page(snap, "docs/measured.json"), (
        "docs/measured.md differs from what docs/measured.json gives: regenerate it with "
        "`python -m kubepromises.measured <promises.json> --run ... --to docs/measured`"
    )
    assert snap["run"]
    assert snap["promises"]


def test_negative_control_a_figure_changed_in_the_data_changes_the_page() -> None:
    snap = json.loads(STORED.read_text())
    before = measured.page(snap, "docs/measured.json")
    with_figures = next(p for p in snap["promises"] if p["figures"])
    with_figures["figures"][0]["value"] = "a value no run measured"
    assert measured.page(snap, "docs/measured.json") != before


def test_the_page_shows_each_figure_with_its_verdict_goal_and_violation() -> None:
    page = measured.page(measured.snapshot(MATRIX, "CI of abc, 4 Dec 2026"), "x.json")
    assert "**Run:** CI of abc, 4 Dec 2026." in page
    assert "1 ✔ passed, 1 ✘ failed, 0 ◐ partly verified, 0 ○ not verified" in page
    assert (
        "| Auto-healing | ✘ failed | time to Ready, p95 | `time_to_ready_seconds.p95` | "
        "12.5 s | ≤ 10 s — over: 12.5 s > 10 s |"
    ) in page
    # a pipe inside a value stays inside its cell
    assert "| 689 requests \\| 0 failed |  |" in page


def test_the_snapshot_keeps_only_what_the_page_needs() -> None:
    snap = measured.snapshot(MATRIX, "run")
    promises = snap["promises"]
    assert isinstance(promises, list)
    first: dict[str, Any] = promises[0]
    assert len(promises) == 2
    assert set(first) == {"key", "title", "verdict", "figures"}
    assert set(first["figures"][0]) == set(measured.FIGURE_FIELDS)


@pytest.mark.parametrize(
    ("matrix", "run", "message"),
    [
        ({"counts": {}}, "run", "not a promises.json"),
        ({"counts": {}, "promises": []}, "run", "not a promises.json"),
        ({"counts": {}, "promises": [{"key": "x"}]}, "run", "a promise without"),
        (MATRIX, "  ", "needs a label"),
    ],
)
def test_negative_control_bad_input_is_refused_by_name(
    matrix: dict[str, object], run: str, message: str
) -> None:
    with pytest.raises(measured.NotAMatrix, match=message):
        measured.snapshot(matrix, run)


def test_bad_input_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "promises.json"
    source.write_text(json.dumps({"counts": {}}))
    code = measured.main([str(source), "--run", "r", "--to", str(tmp_path / "out")])
    assert code == 2
    assert "not a promises.json" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["promises.json"]


def test_a_good_matrix_is_written_as_data_and_page(tmp_path: Path) -> None:
    source = tmp_path / "promises.json"
    source.write_text(json.dumps(MATRIX))
    assert measured.main([str(source), "--run", "r", "--to", str(tmp_path / "out")]) == 0
    snap = json.loads((tmp_path / "out.json").read_text())
    assert (tmp_path / "out.md").read_text() == measured.page(snap, f"{tmp_path}/out.json")
