"""Promise: the nemesis' pause stops a whole process tree and never leaves one stopped.

The tree, not the process group: PostgreSQL's backends each call setsid(), so a SIGSTOP to the
postmaster's group stopped the postmaster alone and its backends went on answering (a paused
PostgreSQL that confirmed orders); the `setsid` child below is such a backend. A process left
stopped would outlive the campaign as a hung server (it does not even take the
teardown's stop signal), so every way out of a pause continues it: the fault itself when its
wait is cut short, and `resume_all` (the campaign fixture's teardown and interpreter exit).
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from suites.campaign_live import system as live_system
from suites.system.servers import ManagedProcess
from suites.waiting import eventually

from . import nemesis
from .schedule import Clock


def _state(pid: int) -> str:
    """The process's state letter from /proc (T: stopped)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.rsplit(")", 1)[1].split()[0]


def _group(pid: int) -> list[int]:
    """The process and its descendants."""
    return nemesis.process_tree(pid)


@pytest.fixture
def group(tmp_path: Path) -> Iterator[ManagedProcess]:
    """A shell with a child in its process group and one in a session of its own (as
    PostgreSQL's backends), like a server and its workers."""
    process = ManagedProcess(
        name="sleeper",
        argv=["sh", "-c", "sleep 60 & setsid sleep 60 & wait"],
        ready=lambda: True,
        log_path=tmp_path / "sleeper.log",
    )
    process.start()
    assert process.proc is not None
    pid = process.proc.pid
    # `setsid` calls setsid() only once it runs: the three processes may be there a moment
    # before the second session is (seen on a busy CI machine, 4 Dec 2026).
    eventually(
        lambda: len(_group(pid)) == 3 and len({os.getsid(p) for p in _group(pid)}) == 2,
        timeout=5,
        what="the shell and its two children, the setsid child in a session of its own",
        retry_on=(ProcessLookupError,),
    )
    tree = _group(pid)
    yield process
    nemesis.resume_all()
    for member in tree:
        with contextlib.suppress(ProcessLookupError):
            os.kill(member, signal.SIGKILL)
    process.proc.wait()


class _FailingClock(Clock):
    """A clock whose wait is cut short, as a test failure or timeout cuts the nemesis'."""

    def hold_until(self, moment: float) -> None:
        raise KeyboardInterrupt("cut short")


def test_a_pause_stops_the_whole_tree_until_resume_all(group: ManagedProcess) -> None:
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


def test_a_sigterm_to_a_testbed_campaign_thaws_its_frozen_pods_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The testbed's pause freezes a pod's cgroup; SIGTERM skips interpreter exit's thaw, so
    the campaign's run thaws on SIGTERM itself, then exits as SIGTERM would (143)."""
    # arrange: a thaw that records it was called; the handler of the campaign's run
    thawed: list[str] = []

    def thaw_all() -> tuple[list[str], list[str]]:
        thawed.append("all")
        return [], []

    monkeypatch.setattr(live_system, "thaw_all", thaw_all)
    before = signal.getsignal(signal.SIGTERM)

    # act
    with pytest.raises(SystemExit) as exited, live_system.thawed_on_sigterm():
        os.kill(os.getpid(), signal.SIGTERM)

    # assert: thawed, exited with SIGTERM's status, and the previous handler back
    assert thawed == ["all"]
    assert exited.value.code == 128 + signal.SIGTERM
    assert signal.getsignal(signal.SIGTERM) == before
