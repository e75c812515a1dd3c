"""Bad setup gets a clear message before anything is created."""

import os
import socket
from pathlib import Path
from types import SimpleNamespace

import pytest

from testbed.cluster import (
    BUILDS_GIB,
    CLUSTER_GIB,
    SetupError,
    Testbed,
    disk_needed,
    disk_problem,
    stale_problem,
    taken_ports,
)
from testbed.settings import Settings


def test_a_port_something_listens_on_is_reported_as_taken() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert taken_ports((port,)) == [port]
    assert taken_ports((port,)) == []


def test_a_port_held_only_by_closed_connections_in_time_wait_is_free() -> None:
    # arrange: a connection to the port that its server side closed first, so the port's
    # address sits in TIME_WAIT (a minute, after `testbed down` and a run's traffic). The
    # listener sets SO_REUSEADDR, as Docker's published ports do (its connections inherit it).
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port)) as client:
            accepted, _ = listener.accept()
            accepted.close()
            client.recv(1)  # the server's FIN has arrived
    with socket.socket() as strict, pytest.raises(OSError, match="in use"):
        strict.bind(("127.0.0.1", port))  # what a bind without SO_REUSEADDR meets

    # act / assert: free, as Docker (which binds with SO_REUSEADDR) finds it
    assert taken_ports((port,)) == []


def test_too_little_disk_is_named_with_the_folder_and_the_need(tmp_path: Path) -> None:
    problem = disk_problem(tmp_path, 10**9, "what for")
    assert str(tmp_path) in problem
    assert "needs 1e+09 GiB (what for)" in problem
    assert disk_problem(tmp_path, 0, "what for") == ""


def test_once_the_images_are_built_only_the_cluster_needs_room() -> None:
    assert disk_needed(built=False)[0] == BUILDS_GIB + CLUSTER_GIB
    assert disk_needed(built=True)[0] == CLUSTER_GIB


def test_an_unknown_mode_is_refused_with_the_choices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEMO_MICRO_MODE", "sideways")
    with pytest.raises(ValueError, match="auto, online or offline"):
        Settings.from_env()


def test_a_cluster_with_stopped_nodes_is_refused_with_how_to_delete_it() -> None:
    nodes = {"demo-micro-control-plane": (True, "img:1"), "demo-micro-worker": (False, "img:1")}
    problem = stale_problem("demo-micro", nodes, "img:1")
    assert "demo-micro-worker" in problem
    assert "stopped" in problem
    assert "python -m testbed down" in problem


def test_a_cluster_from_the_other_mode_is_refused_with_both_images_named() -> None:
    settings = Settings()
    nodes = {"demo-micro-control-plane": (True, settings.online_node_image)}
    problem = stale_problem("demo-micro", nodes, settings.offline_node_image)
    assert settings.online_node_image in problem
    assert settings.offline_node_image in problem


def test_a_registered_cluster_without_node_containers_is_refused() -> None:
    assert "no node containers" in stale_problem("demo-micro", {}, "img:1")


def test_a_healthy_cluster_of_the_right_image_is_reused() -> None:
    nodes = {"a": (True, "img:1"), "b": (True, "img:1")}
    assert stale_problem("demo-micro", nodes, "img:1") == ""


def test_no_docker_engine_is_reported_with_how_to_start_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a `docker` CLI that cannot reach an engine, as on a host where dockerd is not running
    fake = tmp_path / "docker"
    fake.write_text("#!/bin/sh\necho 'Cannot connect to the Docker daemon' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    bed = Testbed(Settings(**{**Settings.from_env().__dict__, "mode": "offline"}))
    with pytest.raises(SetupError, match=r"No Docker engine answers.*prepare-docker\.sh"):
        bed.preflight()


@pytest.mark.parametrize("built", [False, True])
def test_a_machine_with_room_for_the_cluster_only_is_refused_only_while_the_images_are_unbuilt(
    built: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # arrange: an engine that answers, whose image store has the node image or not, and room
    # under the cache for the cluster but not for the builds
    fake = tmp_path / "docker"
    inspect_exit = 0 if built else 1
    fake.write_text(f'#!/bin/sh\n[ "$1" = image ] && exit {inspect_exit}\nexit 0\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    free = int((CLUSTER_GIB + 1) * 2**30)
    monkeypatch.setattr(
        "testbed.cluster.shutil.disk_usage",
        lambda path: SimpleNamespace(total=0, used=0, free=free),
    )
    overrides = {"cache": tmp_path / "cache", "mode": "offline"}
    bed = Testbed(Settings(**{**Settings.from_env().__dict__, **overrides}))
    monkeypatch.setattr(bed, "exists", lambda: True)  # past the disk check, nothing else runs

    # act / assert
    if built:
        bed.preflight()
    else:
        room = rf"Only {CLUSTER_GIB + 1:.1f} GiB free .*\(the builds"
        with pytest.raises(SetupError, match=room):
            bed.preflight()
