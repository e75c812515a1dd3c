"""Bad setup gets a clear message before anything is created."""

import socket
from pathlib import Path

import pytest

from testbed.cluster import disk_problem, taken_ports
from testbed.settings import Settings


def test_a_port_something_listens_on_is_reported_as_taken() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert taken_ports((port,)) == [port]
    assert taken_ports((port,)) == []


def test_too_little_disk_is_named_with_the_folder_and_the_need(tmp_path: Path) -> None:
    problem = disk_problem(tmp_path, needed_gib=10**9)
    assert str(tmp_path) in problem
    assert "needs 1e+09 GiB" in problem
    assert disk_problem(tmp_path, needed_gib=0) == ""


def test_an_unknown_mode_is_refused_with_the_choices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEMO_MICRO_MODE", "sideways")
    with pytest.raises(ValueError, match="auto, online or offline"):
        Settings.from_env()
