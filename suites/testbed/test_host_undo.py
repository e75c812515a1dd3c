"""`airgap/host/prepare-docker.sh` changes the host in ways `--undo` takes back.

The real script runs against a throwaway root (DEMO_MICRO_HOST_ROOT, DEMO_MICRO_CACHE) with a
PATH of shell stubs for `sysctl`, `docker`, `dockerd`, `apt-get`, `id` and the tools it checks
for, recording their calls, and links to the few plain tools it needs: nothing else is on it,
so the host's own engine, sysctls and package manager cannot be reached.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from testbed.settings import AIRGAP, REPO

SCRIPT = AIRGAP / "host" / "prepare-docker.sh"
WRAPPER = "runc-drop-sys-resource"
#: A CapBnd without bit 24 (CAP_SYS_RESOURCE), as on the hosts the wrapper is for.
LACKS_SYS_RESOURCE = "CapBnd:\t000001fffeffffff\n"
HAS_SYS_RESOURCE = "CapBnd:\t000001ffffffffff\n"
#: A user's daemon.json, formatted as jq would never write it, so a rewrite shows.
USERS_DAEMON_JSON = b'{"log-driver":"json-file",   "registry-mirrors": ["http://mirror.local"]}\n'
LOW_SYSCTLS = {"fs.inotify.max_user_instances": "128", "fs.inotify.max_user_watches": "8192"}

# Each stub appends "NAME ARGS" to $STUB_STATE/calls; the fake kernel and engine live there too.
STUBS = {
    "sysctl": r"""
echo "sysctl $*" >> "$STUB_STATE/calls"
case "$1" in
  -n) cat "$STUB_STATE/sysctl/$2" ;;
  -q) key=${3%%=*}; printf '%s\n' "${3#*=}" > "$STUB_STATE/sysctl/$key" ;;
  *) exit 1 ;;
esac
""",
    # `docker info` answers while the fake engine runs; --format prints the runtime it started
    # with (the only format the script asks for).
    "docker": r"""
echo "docker $*" >> "$STUB_STATE/calls"
[ "$1" = info ] && [ -f "$STUB_STATE/engine" ] || exit 1
case "$*" in *--format*) cat "$STUB_STATE/engine" ;; esac
""",
    # The fake engine reads its daemon.json as dockerd does and "runs" with its default runtime.
    "dockerd": r"""
echo "dockerd $*" >> "$STUB_STATE/calls"
config=$DEMO_MICRO_HOST_ROOT/etc/docker/daemon.json
[ "$1" = --config-file ] && config=$2
jq -r '."default-runtime" // "runc"' "$config" 2>/dev/null > "$STUB_STATE/starting" \
  || echo runc > "$STUB_STATE/starting"
mv "$STUB_STATE/starting" "$STUB_STATE/engine"  # up at once, with its runtime
""",
    "apt-get": 'echo "apt-get $*" >> "$STUB_STATE/calls"\n',
    "id": "echo 0\n",  # root, wherever the suite runs
    "debootstrap": "exit 0\n",
    "iptables": "exit 0\n",
}
#: The host's own tools the script and the stubs use, linked onto the stubs' PATH.
TOOLS = ["bash", "awk", "cat", "chmod", "chown", "cmp", "cp", "dirname", "install", "jq"]
TOOLS += ["mkdir", "mv", "nohup", "rm", "seq", "setsid", "sleep", "tail"]


@dataclass
class Host:
    """A throwaway host: its root, cache, fake kernel and engine, and the stubs' call log."""

    root: Path
    cache: Path
    stubs: Path
    tools: Path
    state: Path

    @property
    def daemon_json(self) -> Path:
        return self.root / "etc" / "docker" / "daemon.json"

    @property
    def wrapper(self) -> Path:
        return self.root / "usr" / "local" / "sbin" / WRAPPER

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "PATH": f"{self.stubs}:{self.tools}",
            "STUB_STATE": str(self.state),
            "DEMO_MICRO_HOST_ROOT": str(self.root),
            "DEMO_MICRO_CACHE": str(self.cache),
            "DEMO_MICRO_PROC_STATUS": str(self.state / "status"),
            "DEMO_MICRO_DOCKERD_WAIT": "3",
        }

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.tools / "bash"), str(SCRIPT), *args],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def sysctls(self) -> dict[str, str]:
        return {p.name: p.read_text().strip() for p in (self.state / "sysctl").iterdir()}

    def calls(self) -> list[str]:
        log = self.state / "calls"
        return log.read_text().splitlines() if log.exists() else []

    def stop_engine(self) -> None:
        """The engine stops (a reboot): the next prepare starts it again."""
        (self.state / "engine").unlink()

    def files(self) -> dict[str, bytes]:
        """Every file of the root and the cache, with its bytes."""
        return {
            str(p.relative_to(self.root.parent)): p.read_bytes()
            for top in (self.root, self.cache)
            for p in sorted(top.rglob("*"))
            if p.is_file()
        }


@pytest.fixture
def host(tmp_path: Path) -> Host:
    stubs, tools, state = tmp_path / "stubs", tmp_path / "tools", tmp_path / "state"
    stubs.mkdir()
    tools.mkdir()
    for tool in TOOLS:
        found = shutil.which(tool)
        assert found, f"{tool} is not on PATH: the script needs it"
        (tools / tool).symlink_to(found)
    (state / "sysctl").mkdir(parents=True)
    for name, body in STUBS.items():
        (stubs / name).write_text("#!/bin/sh\n" + body)
        (stubs / name).chmod(0o755)
    for key, value in LOW_SYSCTLS.items():
        (state / "sysctl" / key).write_text(value + "\n")
    (state / "status").write_text(LACKS_SYS_RESOURCE)
    root = tmp_path / "root"
    (root / "usr" / "local" / "sbin").mkdir(parents=True)  # as on any Debian host
    return Host(root=root, cache=tmp_path / "cache", stubs=stubs, tools=tools, state=state)


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


def test_an_existing_daemon_json_is_merged_backed_up_and_restored_byte_identical(
    host: Host,
) -> None:
    # arrange: a host whose daemon.json has keys of its own
    host.daemon_json.parent.mkdir(parents=True)
    host.daemon_json.write_bytes(USERS_DAEMON_JSON)

    # act: prepare
    ok(host.run())

    # assert: its keys kept, the wrapper the default runtime, the original backed up as it was
    merged = json.loads(host.daemon_json.read_bytes())
    assert merged["log-driver"] == "json-file"
    assert merged["registry-mirrors"] == ["http://mirror.local"]
    assert merged["default-runtime"] == WRAPPER
    assert merged["runtimes"][WRAPPER]["path"] == str(host.wrapper)
    backups = list(host.daemon_json.parent.glob("daemon.json.*"))
    assert [b.read_bytes() for b in backups] == [USERS_DAEMON_JSON]
    assert host.wrapper.is_file()
    assert host.sysctls() == {
        "fs.inotify.max_user_instances": "512",
        "fs.inotify.max_user_watches": "524288",
    }

    # act: the engine stops, then undo
    host.stop_engine()
    said = ok(host.run("--undo"))

    # assert: daemon.json as it was to the byte, no backup left, the wrapper and sysctls gone
    assert host.daemon_json.read_bytes() == USERS_DAEMON_JSON
    assert list(host.daemon_json.parent.iterdir()) == [host.daemon_json]
    assert not host.wrapper.exists()
    assert host.sysctls() == LOW_SYSCTLS
    assert f"restored {host.daemon_json}" in said


def test_an_empty_daemon_json_counts_as_no_keys_and_comes_back_empty(host: Host) -> None:
    host.daemon_json.parent.mkdir(parents=True)
    host.daemon_json.write_bytes(b"")
    ok(host.run())
    assert json.loads(host.daemon_json.read_bytes())["default-runtime"] == WRAPPER
    host.stop_engine()

    ok(host.run("--undo"))

    assert host.daemon_json.read_bytes() == b""


def test_a_daemon_json_that_is_not_a_json_object_stops_prepare_before_it_is_touched(
    host: Host,
) -> None:
    host.daemon_json.parent.mkdir(parents=True)
    host.daemon_json.write_bytes(b'{"log-driver": "json-file",\n')

    done = host.run()

    assert done.returncode == 1
    assert f"{host.daemon_json} is not one JSON object" in done.stderr
    assert list(host.daemon_json.parent.iterdir()) == [host.daemon_json]
    assert host.daemon_json.read_bytes() == b'{"log-driver": "json-file",\n'
    assert not host.wrapper.exists()
    assert not [call for call in host.calls() if call.startswith("dockerd")]


def test_without_a_daemon_json_undo_removes_the_one_prepare_wrote(host: Host) -> None:
    ok(host.run())
    assert json.loads(host.daemon_json.read_bytes())["default-runtime"] == WRAPPER
    host.stop_engine()

    said = ok(host.run("--undo"))

    assert not host.daemon_json.exists()
    assert list(host.daemon_json.parent.iterdir()) == []  # no marker or backup left either
    assert "removed" in said


def test_a_second_prepare_changes_nothing(host: Host) -> None:
    # arrange: a first prepare, then the engine stops, so the second one does all its steps
    host.daemon_json.parent.mkdir(parents=True)
    host.daemon_json.write_bytes(USERS_DAEMON_JSON)
    ok(host.run())
    host.stop_engine()
    before, calls_before = host.files(), len(host.calls())

    # act
    ok(host.run())

    # assert: the same files with the same bytes (no new backup, the same record), no sysctl
    # written, and the engine started again
    assert host.files() == before
    again = host.calls()[calls_before:]
    assert not [call for call in again if call.startswith("sysctl -q -w")]
    assert [call for call in again if call.startswith("dockerd")]


def test_undo_with_nothing_recorded_says_so_and_changes_nothing(
    host: Host,
) -> None:
    host.daemon_json.parent.mkdir(parents=True)
    host.daemon_json.write_bytes(USERS_DAEMON_JSON)
    before = host.files()

    said = ok(host.run("--undo"))

    assert "nothing to undo" in said
    assert host.files() == before
    assert not host.cache.exists()
    assert host.calls() == []


def test_a_bad_flag_is_refused_with_exit_2_and_changes_nothing(host: Host) -> None:
    done = host.run("--undoo")

    assert done.returncode == 2
    assert "unknown argument '--undoo'; usage: prepare-docker.sh [--undo]" in done.stderr
    assert host.files() == {}
    assert host.calls() == []
    assert host.sysctls() == LOW_SYSCTLS


def test_a_running_engine_is_left_alone_and_only_low_sysctls_are_raised(host: Host) -> None:
    # arrange: the CI host: an engine runs, the limits are already roomy
    (host.state / "engine").write_text("runc\n")
    for key, value in {"fs.inotify.max_user_instances": "1024"}.items():
        (host.state / "sysctl" / key).write_text(value + "\n")

    said = ok(host.run())

    assert "already running" in said
    assert not host.daemon_json.exists()
    assert not host.wrapper.exists()
    assert not [call for call in host.calls() if call.startswith("dockerd")]
    assert host.sysctls()["fs.inotify.max_user_instances"] == "1024"  # never lowered
    assert host.sysctls()["fs.inotify.max_user_watches"] == "524288"


def test_a_host_with_cap_sys_resource_gets_no_wrapper_and_no_daemon_json(host: Host) -> None:
    (host.state / "status").write_text(HAS_SYS_RESOURCE)

    ok(host.run())

    assert not host.daemon_json.exists()
    assert not host.wrapper.exists()
    assert [call for call in host.calls() if call.startswith("dockerd")]


def test_undo_keeps_the_wrapper_while_the_running_engine_still_uses_it(host: Host) -> None:
    # arrange: prepared, and the engine it started still runs with the wrapper as its default
    ok(host.run())

    # act
    said = ok(host.run("--undo"))

    # assert: daemon.json gone, but the wrapper stays (removing it would break the engine's
    # containers), the restart command printed, not run; a later undo removes the wrapper
    assert not host.daemon_json.exists()
    assert host.wrapper.exists()
    assert "restart" in said
    host.stop_engine()
    ok(host.run("--undo"))
    assert not host.wrapper.exists()
    assert "nothing to undo" in ok(host.run("--undo"))


def test_packages_it_installed_are_listed_by_undo_with_the_command_not_removed(
    host: Host,
) -> None:
    # arrange: iptables missing
    (host.stubs / "iptables").unlink()
    ok(host.run())
    assert "apt-get install -y -q iptables" in host.calls()
    host.stop_engine()

    said = ok(host.run("--undo"))

    assert "apt-get remove iptables" in said
    assert not [call for call in host.calls() if call.startswith("apt-get remove")]


def test_python_m_testbed_host_undo_runs_the_scripts_undo(host: Host) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "testbed", "host-undo"],
        cwd=REPO,
        env=host.env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert "nothing to undo" in done.stdout + done.stderr
