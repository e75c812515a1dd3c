"""`python -m testbed setup`: installs what is missing where it can, else names the commands."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

import pytest

from testbed import setup
from testbed.settings import REPO, Settings
from testbed.setup import Host, Need, blockers, commands, go_version, needs

ROOT_DEBIAN = Host(root=True, debian=True, go=True)
USER = Host(root=False, debian=True, go=True)
NO_GO = Host(root=True, debian=True, go=False)


def _marker_need(tmp_path: Path, name: str = "thing") -> tuple[Need, Path, Path]:
    """A need whose script creates the file that makes it present, and logs each run."""
    marker, runs = tmp_path / name, tmp_path / f"{name}.runs"
    script = tmp_path / f"provide-{name}.sh"
    script.write_text(f"#!/bin/sh\necho run >> {shlex.quote(str(runs))}\ntouch {marker}\n")
    script.chmod(0o755)
    return Need(name, marker.exists, script=(str(script),)), marker, runs


def test_missing_packages_as_a_plain_user_stop_at_once_with_the_exact_commands() -> None:
    missing = [
        Need("Redis server", lambda: False, apt=("redis-server",)),
        Need("FerretDB", lambda: False, script=("airgap/go/build.sh", "ferretdb"), needs_go=True),
    ]
    assert blockers(missing, USER) == [
        "Debian packages (redis-server) need root on Debian or Ubuntu"
    ]
    assert commands(missing, USER) == [
        "apt-get install -y redis-server",
        "airgap/go/build.sh ferretdb",
    ]
    assert blockers(missing, ROOT_DEBIAN) == []


def test_a_go_build_without_go_names_how_to_get_go() -> None:
    missing = [Need("FerretDB", lambda: False, script=("airgap/go/build.sh",), needs_go=True)]
    assert blockers(missing, NO_GO) == ["the Go builds need Go >= 1.24, which is not on PATH"]
    assert commands(missing, NO_GO)[0].startswith("# install Go >= 1.24")
    assert blockers(missing, ROOT_DEBIAN) == []


def test_the_docker_engine_needs_root_on_debian() -> None:
    docker = Need("Docker", lambda: False, script=("x",), script_needs_root=True)
    assert blockers([docker], Host(root=True, debian=False, go=True))
    assert blockers([docker], ROOT_DEBIAN) == []


@pytest.mark.parametrize(
    ("output", "version"),
    [
        ("go version go1.26.8 linux/amd64", (1, 26)),
        ("go version go1.24rc1 linux/amd64", (1, 24)),
        ("go version go1.19.8 linux/amd64", (1, 19)),
        ("", None),
    ],
)
def test_go_versions_are_read_from_go_version(output: str, version: tuple[int, int]) -> None:
    assert go_version(output) == version


def test_a_host_that_cannot_provide_stops_before_doing_anything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # arrange: one need a script would provide, one only apt can
    thing, marker, runs = _marker_need(tmp_path)
    package = Need("a package", lambda: False, apt=("some-package",))
    monkeypatch.setattr(setup, "needs", lambda *_, **__: [thing, package])

    # act
    status = setup.setup("fast", check=False, offline=False, host=USER)

    # assert: exit 1, the commands printed, and nothing run (not even the script it could run)
    assert status == 1
    err = capsys.readouterr().err
    assert "apt-get install -y some-package" in err
    assert str(tmp_path / "provide-thing.sh") in err
    assert not runs.exists()
    assert not marker.exists()


def test_check_lists_what_is_missing_and_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    thing, _, runs = _marker_need(tmp_path)
    monkeypatch.setattr(setup, "needs", lambda *_, **__: [thing])
    assert setup.setup("fast", check=True, offline=False, host=ROOT_DEBIAN) == 1
    assert "  - thing" in capsys.readouterr().err
    assert not runs.exists()


def test_a_host_that_can_provide_does_so_once_and_a_second_run_only_looks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    thing, marker, runs = _marker_need(tmp_path)
    monkeypatch.setattr(setup, "needs", lambda *_, **__: [thing])

    first = setup.setup("fast", check=False, offline=False, host=ROOT_DEBIAN)
    second = setup.setup("fast", check=False, offline=False, host=ROOT_DEBIAN)

    assert (first, second) == (0, 0)
    assert marker.exists()
    assert runs.read_text().splitlines() == ["run"]  # idempotent: the script ran once
    assert "all 1 needs present" in capsys.readouterr().err


def test_a_script_that_provides_nothing_is_a_failure_not_a_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # negative control: the re-check after providing is what decides
    script = tmp_path / "noop.sh"
    script.write_text("#!/bin/sh\ntrue\n")
    script.chmod(0o755)
    never = Need("never there", lambda: False, script=(str(script),))
    monkeypatch.setattr(setup, "needs", lambda *_, **__: [never])
    assert setup.setup("fast", check=False, offline=False, host=ROOT_DEBIAN) == 1


def test_every_script_the_needs_name_exists_and_is_executable() -> None:
    # arrange: every need of every target and mode
    settings = Settings.from_env()
    every = [
        need
        for target in ("fast", "e2e")
        for offline in (False, True)
        for need in needs(target, settings, offline=offline)
    ]
    scripts = {need.script[0] for need in every if need.script}

    # assert
    assert scripts, "no need names a script"
    for script in scripts:
        assert os.access(REPO / script, os.X_OK), f"{script} is not an executable file"
    assert {"postgresql", "redis-server", "chromium"} <= {
        package for need in needs("fast", settings, offline=False) for package in need.apt
    }
    assert "maven" in {
        package for need in needs("e2e", settings, offline=True) for package in need.apt
    }


def test_a_script_that_provides_two_needs_runs_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # arrange: two needs (the Docker engine, the inotify limits) from one script
    thing, marker, runs = _marker_need(tmp_path)
    twin = Need("the same script's other need", marker.exists, script=thing.script)
    monkeypatch.setattr(setup, "needs", lambda *_, **__: [thing, twin])

    # act / assert
    assert commands([thing, twin], ROOT_DEBIAN) == [" ".join(thing.script)]
    assert setup.setup("e2e", check=False, offline=False, host=ROOT_DEBIAN) == 0
    assert runs.read_text().splitlines() == ["run"]


@pytest.mark.parametrize(
    ("instances", "watches", "roomy"),
    [
        ("512", "524288", True),
        ("8192", "1048576", True),
        ("128", "524288", False),
        ("", "1", False),
    ],
)
def test_inotify_limits_below_what_three_kind_nodes_need_are_missing(
    tmp_path: Path, instances: str, watches: str, roomy: bool
) -> None:
    (tmp_path / "max_user_instances").write_text(instances)
    (tmp_path / "max_user_watches").write_text(watches)
    assert setup.inotify_roomy(tmp_path) is roomy
    assert setup.inotify_roomy(tmp_path / "absent") is False


@pytest.mark.parametrize(
    ("mode", "registry_answers", "offline"),
    [
        ("offline", True, True),
        ("online", False, False),
        ("auto", True, False),
        ("auto", False, True),
    ],
)
def test_the_mode_is_air_gapped_when_asked_or_when_no_registry_answers(
    monkeypatch: pytest.MonkeyPatch, mode: str, registry_answers: bool, offline: bool
) -> None:
    from testbed import mode as mode_module

    monkeypatch.setattr(mode_module, "registry_reachable", lambda: registry_answers)
    settings = Settings(mode=mode)  # type: ignore[arg-type]
    assert mode_module.is_offline(settings) is offline


def test_both_targets_need_the_pinned_manifest_linter_and_check_lists_it_when_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # arrange: an empty cache and no override (both targets run suites/static)
    monkeypatch.setenv("DEMO_MICRO_CACHE", str(tmp_path))
    monkeypatch.delenv("DEMO_MICRO_KUBE_SCORE", raising=False)
    settings = Settings.from_env()
    version = settings.airgap["KUBE_SCORE_VERSION"]
    linters = [
        need
        for target in ("fast", "e2e")
        for need in needs(target, settings, offline=False)
        if need.script == ("airgap/go/build.sh", "kube-score")
    ]
    # act
    missing = [need.present() for need in linters]
    monkeypatch.setattr(setup, "needs", lambda *_, **__: linters[:1])
    checked = setup.setup("fast", check=True, offline=False, host=ROOT_DEBIAN)
    # assert
    assert len(linters) == 2
    assert missing == [False, False]
    assert checked == 1
    err = capsys.readouterr().err
    assert f"kube-score {version}" in err
    assert "airgap/go/build.sh kube-score" in err
    assert setup.kube_score_binary(settings) == (
        tmp_path / "go" / f"kube-score-{version}" / "bin" / "kube-score"
    )
