"""Network latency without netem: every packet that netfilter sends to one queue (an iptables
rule's `-j NFQUEUE --queue-num N`) is held here for a fixed delay, then let go, in the order it
came. This machine's kernel has no netem (`# CONFIG_NET_SCH_NETEM is not set`), but it has the
netfilter queue (`CONFIG_NETFILTER_NETLINK_QUEUE=y`, `CONFIG_NETFILTER_XT_TARGET_NFQUEUE=y`),
which hands each queued packet to a process over netlink and waits for its verdict: a verdict
given `delay` later delays the packet by that much.

Run in the network namespace of the packets (a queue, like the rules, belongs to one):

    nsenter -t PID -n python -m testbed.nfqueue --queue 7 --delay-ms 300

It prints `bound` once the queue is its own, and on SIGTERM or SIGINT lets every packet it
holds go at once, then unbinds. The rules should say `--queue-bypass`: once nothing is bound
(this program gone, however), the kernel lets the queue's packets pass instead of dropping
them. The queue holds up to QUEUE_LENGTH packets; past that the kernel drops new ones.

The protocol (Linux's include/uapi/linux/netfilter/nfnetlink_queue.h), in short: a netlink
socket of the NETLINK_NETFILTER family; messages of the queue subsystem, each a netlink header,
a netfilter header (the queue number in network order) and attributes. CONFIG binds the queue
and asks for the packets' metadata only; each PACKET carries a packet id; a VERDICT names the
id and says ACCEPT.
"""

from __future__ import annotations

import argparse
import heapq
import select
import signal
import socket
import struct
import sys
import time

NETLINK_NETFILTER = 12
NFNL_SUBSYS_QUEUE = 3
NFQNL_MSG_PACKET, NFQNL_MSG_VERDICT, NFQNL_MSG_CONFIG = 0, 1, 2
NFQA_PACKET_HDR, NFQA_VERDICT_HDR = 1, 2
NFQA_CFG_CMD, NFQA_CFG_PARAMS, NFQA_CFG_QUEUE_MAXLEN = 1, 2, 3
NFQNL_CFG_CMD_BIND, NFQNL_CFG_CMD_UNBIND = 1, 2
NFQNL_COPY_META = 1
NF_ACCEPT = 1
NLM_F_REQUEST, NLM_F_ACK = 0x1, 0x4
NLMSG_ERROR = 2
NLA_TYPE_MASK = 0x3FFF

#: Packets the kernel keeps waiting for a verdict (its default is 1024): at 3 s of delay, a few
#: thousand packets a second.
QUEUE_LENGTH = 16384
#: The socket's receive buffer: room for every queued packet's message (about 100 bytes each).
RECEIVE_BUFFER = 8 * 2**20
#: How often, at most, a stop is looked for while waiting.
STOP_CHECK = 0.2
#: On stop, packets that still arrive (the answer to a packet just let go) are let go at once
#: until none has come for this long: the kernel drops what is queued when the queue is unbound.
DRAIN_QUIET = 0.05
#: The longest a stop drains, however busy the queue.
DRAIN_LIMIT = 2.0


def attribute(kind: int, payload: bytes) -> bytes:
    """A netlink attribute: length, type, payload, padded to 4 bytes."""
    length = 4 + len(payload)
    return struct.pack("=HH", length, kind) + payload + b"\0" * (-length % 4)


def message(kind: int, queue: int, attributes: bytes, flags: int = NLM_F_REQUEST) -> bytes:
    """A netlink message of the queue subsystem: netlink header, netfilter header (family
    AF_UNSPEC, version 0, the queue number big-endian), attributes."""
    body = struct.pack("!BBH", socket.AF_UNSPEC, 0, queue) + attributes
    return (
        struct.pack("=IHHII", 16 + len(body), (NFNL_SUBSYS_QUEUE << 8) | kind, flags, 0, 0) + body
    )


def bind_messages(queue: int) -> list[bytes]:
    """Bind the queue, ask for metadata only (no payload: the id is all a verdict needs), and
    make room for QUEUE_LENGTH packets."""
    return [
        message(
            NFQNL_MSG_CONFIG,
            queue,
            attribute(NFQA_CFG_CMD, struct.pack("!BxH", NFQNL_CFG_CMD_BIND, socket.AF_INET)),
            NLM_F_REQUEST | NLM_F_ACK,
        ),
        message(
            NFQNL_MSG_CONFIG,
            queue,
            attribute(NFQA_CFG_PARAMS, struct.pack("!IB", 0, NFQNL_COPY_META))
            + attribute(NFQA_CFG_QUEUE_MAXLEN, struct.pack("!I", QUEUE_LENGTH)),
            NLM_F_REQUEST | NLM_F_ACK,
        ),
    ]


def unbind_message(queue: int) -> bytes:
    return message(
        NFQNL_MSG_CONFIG,
        queue,
        attribute(NFQA_CFG_CMD, struct.pack("!BxH", NFQNL_CFG_CMD_UNBIND, socket.AF_INET)),
    )


def verdict_message(queue: int, packet_id: int) -> bytes:
    """ACCEPT for one packet."""
    return message(
        NFQNL_MSG_VERDICT,
        queue,
        attribute(NFQA_VERDICT_HDR, struct.pack("!II", NF_ACCEPT, packet_id)),
    )


def parse(datagram: bytes) -> tuple[list[int], list[int]]:
    """The packet ids of the PACKET messages in one datagram, and the error codes of its
    netlink acknowledgements (0 for a success)."""
    packets, errors = [], []
    offset = 0
    while offset + 16 <= len(datagram):
        length, kind = struct.unpack_from("=IH", datagram, offset)
        if length < 16:
            raise ValueError(f"a netlink message of {length} bytes")
        if kind == NLMSG_ERROR:
            (code,) = struct.unpack_from("=i", datagram, offset + 16)
            errors.append(-code)
        elif kind == (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET:
            at = offset + 20  # past the netlink and netfilter headers
            while at + 4 <= offset + length:
                size, attr = struct.unpack_from("=HH", datagram, at)
                if size < 4:
                    break
                if attr & NLA_TYPE_MASK == NFQA_PACKET_HDR:
                    packets.append(struct.unpack_from("!I", datagram, at + 4)[0])
                at += (size + 3) & ~3
        offset += (length + 3) & ~3
    return packets, errors


class Delayer:
    """Holds the packets of one queue for `delay` seconds each."""

    def __init__(self, queue: int, delay: float) -> None:
        self.queue, self.delay = queue, delay
        self.held: list[tuple[float, int]] = []  # (when to let go, packet id), a heap
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
        self.sock.setsockopt(socket.SOL_SOCKET, 33, RECEIVE_BUFFER)  # SO_RCVBUFFORCE (root)
        self.sock.bind((0, 0))

    def bind(self) -> None:
        for request in bind_messages(self.queue):
            self.sock.send(request)
            packets, errors = parse(self.sock.recv(65536))
            if errors != [0]:
                raise OSError(errors[0] if errors else 0, f"binding queue {self.queue}: {errors}")
            self._hold(packets)

    def _hold(self, packets: list[int]) -> None:
        now = time.monotonic()
        for packet_id in packets:
            heapq.heappush(self.held, (now + self.delay, packet_id))

    def _release(self, until: float) -> int:
        released = 0
        while self.held and self.held[0][0] <= until:
            _, packet_id = heapq.heappop(self.held)
            self.sock.send(verdict_message(self.queue, packet_id))
            released += 1
        return released

    def run(self, stopping: list[bool]) -> None:
        """Until `stopping[0]`: receive packets, let each go when its delay is up."""
        while not stopping[0]:
            due = self.held[0][0] - time.monotonic() if self.held else STOP_CHECK
            wait = min(max(0.0, due), STOP_CHECK)
            readable, _, _ = select.select([self.sock], [], [], wait)
            if readable:
                packets, _ = parse(self.sock.recv(65536))
                self._hold(packets)
            self._release(time.monotonic())

    def close(self) -> None:
        """Every packet held goes now, and each that arrives meanwhile, until the queue is quiet
        (or `DRAIN_LIMIT`); then the queue is unbound. Unbinding at once would drop what the
        kernel queued after the last release: the ACK and first data of a connection whose SYN
        was just let go, sent again only after a retransmission timeout."""
        self._release(float("inf"))
        deadline = time.monotonic() + DRAIN_LIMIT
        while time.monotonic() < deadline:
            readable, _, _ = select.select([self.sock], [], [], DRAIN_QUIET)
            if not readable:
                break
            packets, _ = parse(self.sock.recv(65536))
            self._hold(packets)
            self._release(float("inf"))
        self.sock.send(unbind_message(self.queue))
        self.sock.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m testbed.nfqueue", description=__doc__)
    parser.add_argument("--queue", type=int, required=True, help="the NFQUEUE number")
    parser.add_argument("--delay-ms", type=int, required=True, help="each packet's delay")
    args = parser.parse_args(argv)
    if not 0 <= args.queue <= 65535:
        parser.error(f"--queue {args.queue}: a queue number is 0-65535")
    if not 0 < args.delay_ms <= 60_000:
        parser.error(f"--delay-ms {args.delay_ms}: from 1 to 60000")
    stopping = [False]

    def stop(signum: int, frame: object) -> None:
        stopping[0] = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    delayer = Delayer(args.queue, args.delay_ms / 1000)
    delayer.bind()
    print("bound", flush=True)
    try:
        delayer.run(stopping)
    finally:
        delayer.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
