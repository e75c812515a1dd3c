"""The bring-up's phases are announced with their durations; the next run estimates from them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from testbed.phases import Phases, read_record


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _bring_up(record: Path, clock: Clock, lines: list[str], seconds: dict[str, float]) -> None:
    phases = Phases(record, say=lines.append, clock=clock)
    for name, took in seconds.items():
        with phases.phase(name):
            clock.now += took
    phases.save()


def test_each_phase_says_when_it_starts_and_how_long_it_took(tmp_path: Path) -> None:
    # arrange / act
    lines: list[str] = []
    _bring_up(tmp_path / "bring-up.json", Clock(), lines, {"images": 30, "cluster": 45})

    # assert: no estimate without a record; durations and elapsed time per phase
    assert lines == [
        "bring-up: images",
        "bring-up: images done in 30 s (30 s in)",
        "bring-up: cluster",
        "bring-up: cluster done in 45 s (75 s in)",
    ]
    saved = json.loads((tmp_path / "bring-up.json").read_text())
    assert saved["phases"] == [
        {"name": "images", "seconds": 30.0},
        {"name": "cluster", "seconds": 45.0},
    ]
    assert saved["total_seconds"] == 75.0


def test_the_next_run_estimates_what_is_left_from_the_last_runs_record(tmp_path: Path) -> None:
    record = tmp_path / "bring-up.json"
    _bring_up(record, Clock(), [], {"images": 30, "cluster": 45, "deploy": 60})

    lines: list[str] = []
    _bring_up(record, Clock(), lines, {"images": 5, "cluster": 40, "deploy": 50})

    assert lines[0] == "bring-up: images (the last run: 30 s, 135 s to the end)"
    assert lines[2] == "bring-up: cluster (the last run: 45 s, 105 s to the end)"
    assert lines[4] == "bring-up: deploy (the last run: 60 s, 60 s to the end)"


@pytest.mark.parametrize("content", ["", "not json", '{"phases": [{"name": "x"}]}', "[]"])
def test_an_unreadable_record_gives_no_estimate_rather_than_an_error(
    tmp_path: Path, content: str
) -> None:
    record = tmp_path / "bring-up.json"
    record.write_text(content)
    assert read_record(record) == {}
    assert read_record(tmp_path / "absent.json") == {}
