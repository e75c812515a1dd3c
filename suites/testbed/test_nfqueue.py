"""The delayer (`testbed.nfqueue`): its netlink messages, and its delay on this kernel, in a
throwaway network namespace with a rule of `faults.delay_rules`, as the latency fault uses."""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from testbed import faults, nfqueue

# -- the messages ---------------------------------------------------------------------------


def _packet_message(packet_id: int) -> bytes:
    """A PACKET message as the kernel sends it: the packet header first, then the mark."""
    attributes = nfqueue.attribute(
        nfqueue.NFQA_PACKET_HDR, struct.pack("!IHB", packet_id, 0x0800, 3)
    ) + nfqueue.attribute(3, struct.pack("!I", 0))
    return nfqueue.message(nfqueue.NFQNL_MSG_PACKET, 7, attributes, flags=0)


def _error_message(code: int) -> bytes:
    body = struct.pack("=i", -code) + b"\0" * 16  # the error, then the request's header
    return struct.pack("=IHHII", 16 + len(body), nfqueue.NLMSG_ERROR, 0, 0, 0) + body


def test_the_packet_ids_and_acknowledgements_of_a_datagram_are_read() -> None:
    datagram = _packet_message(41) + _packet_message(42) + _error_message(0)
    assert nfqueue.parse(datagram) == ([41, 42], [0])
    # a refusal is its errno (EPERM: not root in the namespace)
    assert nfqueue.parse(_error_message(1)) == ([], [1])


def test_negative_control_a_truncated_message_is_refused_not_read_as_empty() -> None:
    broken = bytearray(_packet_message(41))
    struct.pack_into("=I", broken, 0, 8)  # a length shorter than its own header
    with pytest.raises(ValueError, match="8 bytes"):
        nfqueue.parse(bytes(broken))


def test_a_verdict_accepts_the_packet_it_names_on_its_queue() -> None:
    verdict = nfqueue.verdict_message(7, 42)
    length, kind, flags = struct.unpack_from("=IHH", verdict)
    assert length == len(verdict) == 16 + 4 + 12
    assert kind == (nfqueue.NFNL_SUBSYS_QUEUE << 8) | nfqueue.NFQNL_MSG_VERDICT
    assert flags == nfqueue.NLM_F_REQUEST
    assert struct.unpack_from("!H", verdict, 18) == (7,)  # the queue, big-endian
    assert struct.unpack_from("!II", verdict, 24) == (nfqueue.NF_ACCEPT, 42)


def test_bad_arguments_are_refused_before_anything_is_bound(
    capsys: pytest.CaptureFixture[str],
) -> None:
    for argv in (["--queue", "70000", "--delay-ms", "300"], ["--queue", "7", "--delay-ms", "0"]):
        with pytest.raises(SystemExit) as exited:
            nfqueue.main(argv)
        assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "a queue number is 0-65535" in err
    assert "--delay-ms 0: from 1 to 60000" in err


# -- on this kernel ---------------------------------------------------------------------------

#: Runs inside `unshare -n`: a server on the loopback, the fault's rule to queue 7, then a
#: request timed without a delayer (the queue bypassed), with one, and across a delayer told to
#: stop while it holds the request's first packet. Prints the times, in seconds.
PROBE = r"""
import json, signal, socket, subprocess, sys, threading, time
rule, delay_ms = json.loads(sys.argv[1])
subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
server = socket.socket(); server.bind(("127.0.0.1", 15433)); server.listen(16)
def serve():
    while True:
        c, _ = server.accept(); c.recv(16); c.sendall(b"pong"); c.close()
threading.Thread(target=serve, daemon=True).start()

def request():
    start = time.monotonic()
    c = socket.create_connection(("127.0.0.1", 15433), timeout=10); c.sendall(b"ping")
    assert c.recv(16) == b"pong"; c.close()
    return round(time.monotonic() - start, 3)

def delayer(ms):
    d = subprocess.Popen([sys.executable, "-m", "testbed.nfqueue", "--queue", "7",
                          "--delay-ms", str(ms)], stdout=subprocess.PIPE, text=True)
    assert d.stdout.readline().strip() == "bound"
    return d

subprocess.run(rule, check=True)
seen = {"bypassed": request()}
d = delayer(delay_ms)
seen["delayed"] = request()
d.terminate(); d.wait()
seen["after"] = request()
d = delayer(5000)
threading.Timer(0.5, d.terminate).start()
seen["stopped"] = request()
d.wait(); seen["stopped_code"] = d.returncode
print(json.dumps(seen))
"""


def test_on_this_kernel_the_delayer_adds_its_delay_to_each_round_trip_and_lets_go_on_stop() -> None:
    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which(faults.IPTABLES):
        pytest.skip("not verified: needs root, unshare and iptables-nft on this machine")
    (spec,) = faults.delay_rules(["127.0.0.1"], 15433)
    rule = faults.iptables_command("-I", spec, faults.queue_target(7))
    done = subprocess.run(
        ["unshare", "-n", sys.executable, "-c", PROBE, json.dumps([rule, 300])],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=Path(nfqueue.__file__).parent.parent,
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    # negative control: the same rule with nothing bound to the queue lets packets pass at once
    assert seen["bypassed"] < 0.2, seen
    # two round trips (the connect, then the request) that each take 300 ms more
    assert 0.6 <= seen["delayed"] < 1.2, seen
    assert seen["after"] < 0.2, seen
    # told to stop, it let go of the held SYN at once (a dropped one is sent again after 1 s)
    assert 0.5 <= seen["stopped"] < 0.9, seen
    assert seen["stopped_code"] == 0, seen


def test_a_pods_namespace_is_found_on_the_host_by_its_inode(tmp_path: Path) -> None:
    proc = tmp_path / "proc"
    for pid, link in ((7, "net:[111]"), (12, "net:[222]"), (30, "net:[222]")):
        (proc / str(pid) / "ns").mkdir(parents=True)
        os.symlink(link, proc / str(pid) / "ns" / "net")
    (proc / "self").mkdir()
    assert faults.host_pid_in("net:[222]", proc) == 12
    with pytest.raises(LookupError, match=r"net:\[333\]"):
        faults.host_pid_in("net:[333]", proc)


def test_the_delay_rules_queue_only_what_the_pod_sends_to_the_peers() -> None:
    rules = faults.delay_rules(["10.96.0.10", "10.244.1.7"], 9000)
    assert rules == [
        ("OUTPUT", "-p", "tcp", "-d", "10.96.0.10", "--dport", "9000"),
        ("OUTPUT", "-p", "tcp", "-d", "10.244.1.7", "--dport", "9000"),
    ]
    command = faults.iptables_command("-I", rules[0], faults.queue_target(7))
    assert command[-5:] == ["-j", "NFQUEUE", "--queue-num", "7", "--queue-bypass"]
    assert faults.FAULT_COMMENT in command, "found and removed as every fault rule is"


def test_the_delayer_is_run_by_this_python_in_the_pods_namespace() -> None:
    command = faults.delayer_command(4242, 7, 0.3)
    assert command[:5] == ["nsenter", "-t", "4242", "-n", sys.executable]
    assert command[5:] == ["-m", "testbed.nfqueue", "--queue", "7", "--delay-ms", "300"]
