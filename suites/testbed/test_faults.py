"""The fault library's pure parts (testbed/faults.py): finding a pod's PID on its node, the
iptables commands it runs and undoes, and — where this machine allows it — the same rules in a
throwaway network namespace, so "dropped" and "undone" are shown on the real kernel."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from kubepromises.waiting import NotYet, eventually, truthy
from testbed import faults
from testbed.faults import PodNetns

#: `ctr -n k8s.io tasks ls` on a kind node (shortened IDs).
TASKS = "\n".join(
    [
        "TASK      PID      STATUS    ",
        "aaa111    1603     RUNNING",
        "bbb222    17878    RUNNING",
        "ccc333    4242     STOPPED",
    ]
)


def test_the_container_id_is_taken_from_the_pods_status() -> None:
    assert faults.container_id("containerd://bbb222") == "bbb222"


@pytest.mark.parametrize("status_id", ["docker://bbb222", "bbb222", "containerd://", ""])
def test_negative_control_an_id_of_another_runtime_or_none_is_refused(status_id: str) -> None:
    with pytest.raises(ValueError, match="not a containerd container ID"):
        faults.container_id(status_id)


def test_the_pid_is_the_running_task_of_that_container() -> None:
    assert faults.task_pid(TASKS, "bbb222") == 17878
    assert faults.task_pid(TASKS, "aaa111") == 1603


def test_negative_control_a_missing_or_stopped_task_gives_no_pid() -> None:
    with pytest.raises(LookupError, match="no task ddd444"):
        faults.task_pid(TASKS, "ddd444")
    with pytest.raises(LookupError, match="STOPPED"):
        faults.task_pid(TASKS, "ccc333")
    # the header's "PID" is never taken for a task
    with pytest.raises(LookupError):
        faults.task_pid(TASKS, "TASK")


def test_a_partition_drops_both_directions_of_tcp_to_each_peer() -> None:
    rules = faults.partition_rules(["10.96.9.7", "10.244.1.13/32"], 5432)
    assert rules == [
        ("OUTPUT", "-p", "tcp", "-d", "10.96.9.7", "--dport", "5432"),
        ("INPUT", "-p", "tcp", "-s", "10.96.9.7", "--sport", "5432"),
        ("OUTPUT", "-p", "tcp", "-d", "10.244.1.13/32", "--dport", "5432"),
        ("INPUT", "-p", "tcp", "-s", "10.244.1.13/32", "--sport", "5432"),
    ]


def test_a_dns_outage_drops_only_the_answers_udp_and_tcp() -> None:
    rules = faults.dns_outage_rules()
    assert rules == [
        ("INPUT", "-p", "udp", "--sport", "53"),
        ("INPUT", "-p", "tcp", "--sport", "53"),
    ]
    assert not any(r[0] == "OUTPUT" for r in rules), "a UDP drop in OUTPUT is a refusal (EPERM)"


def test_insert_and_delete_are_the_same_rule_marked_as_a_fault_and_dropping() -> None:
    rule = ("INPUT", "-p", "udp", "--sport", "53")
    insert = faults.iptables_command("-I", rule)
    delete = faults.iptables_command("-D", rule)
    assert insert[:4] == ["iptables-nft", "-w", "5", "-I"]
    assert insert[4:] == delete[4:]
    assert insert[-2:] == ["-j", "DROP"], "dropped, never refused (REJECT)"
    assert insert[-4:-2] == ["--comment", faults.FAULT_COMMENT]


def test_negative_control_an_action_other_than_insert_or_delete_is_refused() -> None:
    with pytest.raises(ValueError, match=r"-I \(insert\) or -D"):
        faults.iptables_command("-F", ("INPUT",))


def test_commands_run_in_the_pods_namespace_from_its_node() -> None:
    where = PodNetns("order-service-x", "demo-micro-worker2", 17878)
    assert faults.in_netns(where, ["iptables-nft", "-S"]) == [
        "docker",
        "exec",
        "demo-micro-worker2",
        "nsenter",
        "-t",
        "17878",
        "-n",
        "iptables-nft",
        "-S",
    ]


def test_a_rule_left_behind_is_found_and_a_clean_namespace_has_none() -> None:
    clean = "-P INPUT ACCEPT\n-P FORWARD ACCEPT\n-P OUTPUT ACCEPT\n"
    left = clean + (
        '-A INPUT -p udp -m udp --sport 53 -m comment --comment "demo-micro-fault" -j DROP\n'
    )
    assert faults.fault_rules(clean) == []
    assert faults.fault_rules(left) == [left.splitlines()[-1]]


class PodsOnly:
    """As much of a Kube as the undo asks before it enters a namespace: the pods."""

    def __init__(self, deleting: bool) -> None:
        self.deleting = deleting
        #: How often the undo looked the pod up to enter its namespace.
        self.entered = 0

    def pods(self) -> list[SimpleNamespace]:
        stamp = "2026-12-04T05:00:00Z" if self.deleting else None
        return [SimpleNamespace(metadata=SimpleNamespace(name="p", deletion_timestamp=stamp))]

    def pod(self, name: str) -> SimpleNamespace:
        self.entered += 1
        raise LookupError(f"{name}: its container has stopped")


RULE = ("OUTPUT", "-p", "tcp", "-d", "10.96.0.9", "--dport", "5432")


def test_the_undo_leaves_a_pod_being_deleted_alone() -> None:
    # A pod whose deletion began (another fault, a rollout) takes its namespace with it: the
    # undo does not try to enter it, so a fault on it ends cleanly.
    kube = PodsOnly(deleting=True)
    faults._undo(kube, "p", [RULE], faults.DROP)  # type: ignore[arg-type]
    assert kube.entered == 0


def test_negative_control_the_undo_of_a_pod_in_place_that_cannot_be_entered_fails() -> None:
    kube = PodsOnly(deleting=False)
    with pytest.raises(LookupError, match="container has stopped"):
        faults._undo(kube, "p", [RULE], faults.DROP)  # type: ignore[arg-type]
    assert kube.entered == 1


def test_the_kernel_config_line_says_set_or_not_set(tmp_path: Path) -> None:
    text = "CONFIG_NET_SCH_TBF=m\n# CONFIG_NET_SCH_NETEM is not set\nCONFIG_TIME_NS=y\n"
    assert faults.kernel_config_line("CONFIG_NET_SCH_NETEM", text) == (
        "# CONFIG_NET_SCH_NETEM is not set"
    )
    assert faults.kernel_config_line("CONFIG_TIME_NS", text) == "CONFIG_TIME_NS=y"
    # negative control: a prefix of another option is not that option
    assert faults.kernel_config_line("CONFIG_NET_SCH_TB", text) == ""
    config = tmp_path / "config.gz"
    config.write_bytes(gzip.compress(text.encode()))
    assert faults.read_kernel_config(config) == text
    assert faults.read_kernel_config(tmp_path / "absent.gz") == ""


# -- the same rules on this kernel, in a throwaway network namespace ------------------------

#: Runs inside `unshare -n` (a new, empty network namespace: nothing else is touched). Its
#: argument is JSON: the insert and delete commands of one fault. It prints what a client saw
#: before, during and after the fault.
PROBE = r"""
import json, socket, subprocess, sys, threading
insert, delete, kind = json.loads(sys.argv[1])
subprocess.run(["ip", "link", "set", "lo", "up"], check=True)

def tcp_connects():
    s = socket.socket(); s.settimeout(1.0)
    try:
        s.connect(("127.0.0.1", 15432)); return "connected"
    except OSError as e:
        return type(e).__name__
    finally:
        s.close()

def udp_answer():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(1.0)
    try:
        s.sendto(b"q", ("127.0.0.1", 53)); s.recvfrom(16); return "answered"
    except OSError as e:
        return type(e).__name__
    finally:
        s.close()

server = socket.socket(); server.bind(("127.0.0.1", 15432)); server.listen(16)
dns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); dns.bind(("127.0.0.1", 53))
def answer():
    while True:
        data, peer = dns.recvfrom(16); dns.sendto(b"a", peer)
threading.Thread(target=answer, daemon=True).start()
check = tcp_connects if kind == "tcp" else udp_answer
seen = {"before": check()}
for command in insert:
    subprocess.run(command, check=True)
seen["during"] = check()
for command in delete:
    subprocess.run(command, check=True)
seen["after"] = check()
seen["left"] = subprocess.run(["iptables-nft", "-S"], capture_output=True, text=True).stdout
print(json.dumps(seen))
"""


def _in_throwaway_netns(rules: list[tuple[str, ...]], kind: str) -> dict[str, str]:
    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which(faults.IPTABLES):
        pytest.skip("not verified: needs root, unshare and iptables-nft on this machine")
    insert = [faults.iptables_command("-I", r) for r in rules]
    delete = [faults.iptables_command("-D", r) for r in rules]
    return _probed_in_a_throwaway_netns(PROBE, [insert, delete, kind])


def _probed_in_a_throwaway_netns(probe: str, argument: object) -> dict[str, str]:
    """What `probe` (a Python program) printed as JSON, run in a new, empty network namespace
    with `argument` as JSON; not verified where such a namespace cannot be made."""
    done = subprocess.run(
        ["unshare", "-n", sys.executable, "-c", probe, json.dumps(argument)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"not verified: a throwaway network namespace failed here: {done.stderr}")
    seen: dict[str, str] = json.loads(done.stdout)
    return seen


def test_on_this_kernel_a_partition_times_out_a_connect_and_its_undo_reopens_it() -> None:
    seen = _in_throwaway_netns(faults.partition_rules(["127.0.0.1"], 15432), "tcp")
    assert seen["before"] == "connected"
    assert seen["during"] == "TimeoutError", "dropped: the connect waits, it is not refused"
    assert seen["after"] == "connected"
    assert faults.fault_rules(seen["left"]) == []


def test_on_this_kernel_a_dns_outage_leaves_a_query_unanswered_and_its_undo_answers() -> None:
    seen = _in_throwaway_netns(faults.dns_outage_rules(), "udp")
    assert seen["before"] == "answered"
    assert seen["during"] == "TimeoutError", "the query left, its answer never came"
    assert seen["after"] == "answered"
    assert faults.fault_rules(seen["left"]) == []


def test_negative_control_a_udp_drop_on_the_way_out_is_a_refusal_not_an_outage() -> None:
    # Why dns_outage drops answers only: the same drop in OUTPUT fails sendto with EPERM at
    # once, which a resolver takes as an error, not as a DNS that does not answer.
    seen = _in_throwaway_netns([("OUTPUT", "-p", "udp", "--dport", "53")], "udp")
    assert seen["before"] == "answered"
    assert seen["during"] == "PermissionError"
    assert seen["after"] == "answered"


# -- the PostgreSQL crash: finding the process to kill ---------------------------------------

#: `children_listing` output for a postmaster (PIDs and titles as on the testbed).
CHILDREN = "\n".join(
    [
        "4309 postgres: checkpointer                      ",
        "4312 postgres: walwriter                         ",
        "4397 postgres: demo orders 10.244.2.6(48864) idle ",
    ]
)


def test_the_crashed_process_is_found_by_its_title() -> None:
    assert faults.process_titled(CHILDREN, faults.CRASHED_PROCESS) == 4312


def test_negative_control_a_server_without_that_process_gives_no_pid() -> None:
    without = "\n".join(line for line in CHILDREN.splitlines() if "walwriter" not in line)
    with pytest.raises(LookupError, match="no process titled 'postgres: walwriter'"):
        faults.process_titled(without, faults.CRASHED_PROCESS)
    # a title that only begins like it is another process
    with pytest.raises(LookupError):
        faults.process_titled(CHILDREN, "postgres: wal")


def test_the_listing_command_names_each_child_of_a_real_process_by_its_title() -> None:
    # a parent with two children of different command lines, as the postmaster has
    parent = subprocess.Popen(["sh", "-c", "sleep 101 & sleep 102 & wait"])
    try:

        def listing() -> str:
            out = subprocess.run(
                ["sh", "-c", faults.children_listing(parent.pid)],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            if out.count("\n") < 2:
                raise NotYet(f"children not started yet: {out!r}")
            return out

        out = eventually(listing, timeout=10, what="the two children listed")
        first = faults.process_titled(out, "sleep 101")
        second = faults.process_titled(out, "sleep 102")
        assert first != second
        assert Path(f"/proc/{second}/cmdline").read_bytes() == b"sleep\x00102\x00"
    finally:
        subprocess.run(["pkill", "-P", str(parent.pid)], check=False)
        parent.kill()
        parent.wait()


# -- a full volume: the node's scripts, on this kernel, in a throwaway mount namespace ---------

#: Runs inside `unshare -m` (a private mount namespace: the host never sees its mounts). Its
#: argument is JSON: the volume's directory and the three scripts. It prints what it saw.
VOLUME_PROBE = r"""
import json, os, subprocess, sys
volume, move, fill, put_back = json.loads(sys.argv[1])
def sh(script):
    return subprocess.run(["sh", "-c", script], check=True, capture_output=True, text=True).stdout
def write(name, size):
    try:
        with open(os.path.join(volume, name), "wb") as f:
            f.write(b"x" * size); f.flush(); os.fsync(f.fileno())
        return "written"
    except OSError as e:
        return e.strerror
def mounted():
    return sh(f"findmnt -n -o SOURCE,FSTYPE -M {volume} || true").split()
seen = {"before": write("before", 65536)}
sh(move)
seen["moved"] = mounted()
seen["free_after_fill"] = int(sh(fill).strip())
seen["full"] = write("big", 65536)
os.remove(os.path.join(volume, "big"))  # the failed write's partial file
seen["small"] = write("meanwhile", 4096)
sh(put_back)
seen["put_back"] = mounted()
seen["files"] = sorted(os.listdir(volume))
sh(put_back)
seen["again"] = sorted(os.listdir(volume))
print(json.dumps(seen))
"""


def test_on_this_kernel_a_moved_volume_fills_and_is_put_back_with_what_was_written(
    tmp_path: Path,
) -> None:
    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("findmnt"):
        pytest.skip("not verified: needs root, unshare and findmnt on this machine")
    volume, saved = tmp_path / "volume", tmp_path / "saved"
    (volume / "pgdata").mkdir(parents=True)
    (volume / "pgdata" / "PG_VERSION").write_text("16\n")
    scripts = [
        str(volume),
        faults.move_onto_small_filesystem(str(volume), 2**20, str(saved)),
        faults.fill(str(volume), leave=8192),
        faults.put_back(str(volume), str(saved)),
    ]
    done = subprocess.run(
        ["unshare", "-m", sys.executable, "-c", VOLUME_PROBE, json.dumps(scripts)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0 and "unshare failed" in done.stderr:
        pytest.skip(f"not verified: a throwaway mount namespace failed here: {done.stderr}")
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)

    # before the move a 64-KiB write fits (the control); moved, the volume is the fault's tmpfs
    assert seen["before"] == "written"
    assert seen["moved"] == [faults.FULL_VOLUME_SOURCE, "tmpfs"]
    # filled, what is left is left, and a larger write meets a real ENOSPC
    assert seen["free_after_fill"] == 8192
    assert seen["full"] == "No space left on device"
    assert seen["small"] == "written"
    # put back: no mount, the data with what was written meanwhile, no filler; twice, the same
    assert seen["put_back"] == []
    assert seen["files"] == ["before", "meanwhile", "pgdata"]
    assert seen["again"] == seen["files"]
    assert not saved.exists() or list(saved.iterdir()) == []


# -- a noisy neighbour -----------------------------------------------------------------------


def test_the_neighbour_is_besteffort_on_its_node() -> None:
    pod = faults.neighbour_pod("n", "worker", "image:1", 2)
    spec = pod["spec"]
    assert isinstance(spec, dict)
    (container,) = spec["containers"]
    assert spec["nodeName"] == "worker"
    assert container["resources"] == {}, "no request and no limit: BestEffort"
    assert container["command"][-1] == "2", "one spinning process per core"


def test_the_spin_program_starts_one_process_per_core() -> None:
    # negative control included: run for real with 2, it is 2 processes, not 1 or 3
    spinning = subprocess.Popen([sys.executable, "-c", faults.SPIN, "2"], start_new_session=True)
    try:
        children = eventually(
            truthy(lambda: _children_of(spinning.pid)), timeout=10, what="the spin program's child"
        )
        assert len(children) == 1, children
    finally:
        os.killpg(spinning.pid, 9)
        spinning.wait()


def _children_of(pid: int) -> list[str]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return path.read_text().split()


def test_the_cpu_usage_script_reads_this_machines_cgroup_of_a_process() -> None:
    # this process's own cgroup: a number of nanoseconds that grows as it spins
    script = faults.cpu_usage_script(os.getpid())
    before = int(
        float(
            subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=True).stdout
        )
    )
    deadline = time.monotonic() + 0.2
    while time.monotonic() < deadline:
        pass
    after = int(
        float(
            subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=True).stdout
        )
    )
    assert after - before >= 0.1e9, (before, after)
    # negative control: a process that does not exist has no cgroup to read
    missing = subprocess.run(
        ["sh", "-c", faults.cpu_usage_script(2**22 + 1)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert missing.returncode != 0 or not missing.stdout.strip()


CONTAINER_CGROUP = "/kubepods/burstable/pod1234/c0ffee"


def _cgroup_tree(root: Path, version: str) -> Path:
    """A node's /proc and /sys/fs/cgroup in miniature, holding process 42 in a container with a
    CPU limit of one core: the file of its CFS quota."""
    proc, cgroups = root / "proc", root / "cgroup"
    (proc / "42").mkdir(parents=True)
    if version == "v2":
        (cgroups / CONTAINER_CGROUP[1:]).mkdir(parents=True)
        (cgroups / "cgroup.controllers").write_text("cpu memory\n")
        (proc / "42" / "cgroup").write_text(f"0::{CONTAINER_CGROUP}\n")
        quota = cgroups / CONTAINER_CGROUP[1:] / "cpu.max"
        quota.write_text("100000 100000\n")
    else:
        (cgroups / "cpu" / CONTAINER_CGROUP[1:]).mkdir(parents=True)
        (proc / "42" / "cgroup").write_text(
            f"4:memory:{CONTAINER_CGROUP}\n3:cpu,cpuacct:{CONTAINER_CGROUP}\n"
            f"2:cpuset:{CONTAINER_CGROUP}\n"
        )
        quota = cgroups / "cpu" / CONTAINER_CGROUP[1:] / "cpu.cfs_quota_us"
        quota.write_text("100000\n")
    return quota


def _quota(root: Path, pid: int, value: str = "") -> subprocess.CompletedProcess[str]:
    script = faults.cpu_quota_script(
        pid, value, cgroups=str(root / "cgroup"), proc=str(root / "proc")
    )
    return subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=False)


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_the_quota_script_throttles_a_container_and_puts_its_quota_back(
    tmp_path: Path, version: str
) -> None:
    quota = _cgroup_tree(tmp_path, version)
    before = quota.read_text()
    # read only: the quota as it is
    read = _quota(tmp_path, 42)
    assert (read.returncode, read.stdout.strip()) == (0, "100000"), read.stderr
    assert quota.read_text() == before
    # throttled: the quota printed was the old one, the file holds the new one (v2 keeps its
    # period)
    held = _quota(tmp_path, 42, faults.THROTTLED_QUOTA_US)
    assert (held.returncode, held.stdout.strip()) == (0, "100000"), held.stderr
    expected = "1000 100000" if version == "v2" else "1000"
    assert quota.read_text().strip() == expected
    # put back as printed
    assert _quota(tmp_path, 42, "100000").returncode == 0
    assert quota.read_text().split() == before.split()
    # negative control: a process that is not there is an error, and nothing is written
    missing = _quota(tmp_path, 43, faults.THROTTLED_QUOTA_US)
    assert missing.returncode != 0
    assert quota.read_text().split() == before.split()


def test_a_reset_kills_the_pods_connections_to_the_peers_on_the_port() -> None:
    command = faults.reset_command(["10.96.0.7", "10.244.1.9"], 5432)
    assert command == [
        "ss", "-K", "-t", "-n", "-H", "( dst 10.96.0.7 or dst 10.244.1.9 ) and dport = :5432"
    ]  # fmt: skip


def test_negative_control_a_reset_without_a_peer_is_refused() -> None:
    # An empty filter would match every connection of the pod.
    with pytest.raises(ValueError, match="no peer"):
        faults.reset_command([], 5432)


#: Runs inside `unshare -n`: two connections to two servers on 127.0.0.1; the reset command
#: (its argument, JSON) run between; what each side of each connection sees after it, what ss
#: printed, and whether a new connection still goes through.
RESET_PROBE = r"""
import json, socket, subprocess, sys
command = json.loads(sys.argv[1])
subprocess.run(["ip", "link", "set", "lo", "up"], check=True)

def outcome(sock):
    sock.settimeout(1.0)
    try:
        sock.sendall(b"x"); data = sock.recv(16)
        return "open" if data else "closed"
    except OSError as e:
        return type(e).__name__

servers, pairs = {}, {}
for port in (15432, 15433):
    server = socket.socket(); server.bind(("127.0.0.1", port)); server.listen(4)
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _ = server.accept()
    accepted.sendall(b"y")  # the client's first recv finds it: an open connection answers
    servers[port], pairs[port] = server, (client, accepted)
printed = subprocess.run(command, capture_output=True, text=True, check=True).stdout
seen = {"printed": printed}
for port, (client, accepted) in pairs.items():
    seen[f"client {port}"] = outcome(client)
    seen[f"server {port}"] = outcome(accepted)
seen["new"] = "connected" if socket.create_connection(("127.0.0.1", 15432), 1) else "no"
print(json.dumps(seen))
"""


def test_on_this_kernel_a_reset_ends_the_connections_on_the_port_both_ways_and_no_other() -> None:
    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("ss"):
        pytest.skip("not verified: needs root, unshare and ss on this machine")
    seen = _probed_in_a_throwaway_netns(RESET_PROBE, faults.reset_command(["127.0.0.1"], 15432))
    assert len(seen["printed"].splitlines()) == 1, seen  # the client's side, to port 15432
    assert seen["client 15432"] == "ConnectionAbortedError", seen
    assert seen["server 15432"] in ("ConnectionResetError", "BrokenPipeError"), seen
    assert (seen["client 15433"], seen["server 15433"]) == ("open", "open"), seen
    assert seen["new"] == "connected", seen
