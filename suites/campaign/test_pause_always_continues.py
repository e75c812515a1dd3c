"""Promise: the nemesis' pause stops a whole process group and never leaves one stopped.

A process left stopped would outlive the campaign as a hung server (it does not even take the
teardown's stop signal), so every way out of a pause continues it: the fault itself when its
wait is cut short, and `resume_all` (the campaign fixture's teardown and interpreter exit).
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from suites.system.servers import ManagedProcess
from suites.waiting import eventually

from . import nemesis
from .schedule import Clock


def _state(pid: int) -> str:
    """The process's state letter from /proc (T: stopped)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.rsplit(")", 1)[1].split()[0]


def _group(pgid: int) -> list[int]:
    """The live processes of a process group."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getpgid(int(entry.name)) == pgid:
                    found.append(int(entry.name))
            except ProcessLookupError:
                continue
    return found


@pytest.fixture
def group(tmp_path: Path) -> Iterator[ManagedProcess]:
    """A shell and its child in their own process group, as a server and its backends."""
    process = ManagedProcess(
        name="sleeper",
        argv=["sh", "-c", "sleep 60 & wait"],
        ready=lambda: True,
        log_path=tmp_path / "sleeper.log",
    )
    process.start()
    assert process.proc is not None
    pgid = process.proc.pid
    eventually(lambda: len(_group(pgid)) == 2, timeout=5, what="the shell and its child")
    yield process
    nemesis.resume_all()
    os.killpg(pgid, signal.SIGKILL)
    process.proc.wait()


class _FailingClock(Clock):
    """A clock whose wait is cut short, as a test failure or timeout cuts the nemesis'."""

    def hold_until(self, moment: float) -> None:
        raise KeyboardInterrupt("cut short")


def test_a_pause_stops_the_whole_group_until_resume_all(group: ManagedProcess) -> None:
    # arrange
    assert group.proc is not None
    pgid = group.proc.pid

    # act: paused
    nemesis.pause(pgid, group.name)

    # assert: every process of the group stopped, then every one continued
    eventually(lambda: {_state(pid) for pid in _group(pgid)} == {"T"}, timeout=5,
               what="every process of the group stopped")  # fmt: skip
    assert nemesis.resume_all() == [group.name]
    eventually(lambda: "T" not in {_state(pid) for pid in _group(pgid)}, timeout=5,
               what="the group continued")  # fmt: skip
    assert nemesis.resume_all() == []


def test_a_pause_cut_short_still_continues_its_group(group: ManagedProcess) -> None:
    # arrange
    assert group.proc is not None
    pgid = group.proc.pid

    # act: the pause's down time is interrupted
    with pytest.raises(KeyboardInterrupt):
        nemesis.inject(group, "pause", _FailingClock(), down=30)

    # assert: continued by the fault itself, nothing left for resume_all
    eventually(lambda: "T" not in {_state(pid) for pid in _group(pgid)}, timeout=5,
               what="the group continued")  # fmt: skip
    assert nemesis.resume_all() == []


def test_a_pause_is_a_window_that_closes_when_the_process_answers(
    group: ManagedProcess,
) -> None:
    # act: a short pause
    window = nemesis.inject(group, "pause", Clock(), down=0.3)

    # assert: recorded as a pause from SIGSTOP to SIGCONT and readiness, the process running
    assert (window.kind, window.signal) == ("pause", "SIGSTOP")
    assert window.resumed is not None
    assert window.start == window.stopped < window.resumed <= window.end
    assert window.resumed - window.start >= 0.3
    assert group.proc is not None
    assert group.proc.poll() is None
