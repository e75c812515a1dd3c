"""Promise: the nemesis' link faults do what they say. A partitioned link carries nothing, either
way, while the server still answers its other clients; a slowed link delays each exchange; a
reset link ends the connections it carries and carries new ones; a healed link carries again.
Checked through a relay in front of a real Redis (the same relay the campaign puts between its
services and their servers); the negative controls show the checks catch a link that was never
cut and connections that were never ended.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis
from redis.backoff import NoBackoff
from redis.exceptions import TimeoutError as RedisTimeout
from redis.retry import Retry

from suites.system.servers import ManagedProcess, redis

from .links import Links

PASSWORD = "links-test"
LINK = "client->redis"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ManagedProcess, int]]:
    process, port = redis(tmp_path_factory.mktemp("links"), PASSWORD)
    process.start()
    yield process, port
    process.stop()


@pytest.fixture
def links(server: tuple[ManagedProcess, int], tmp_path: Path) -> Iterator[Links]:
    relay = Links(tmp_path / "links.log")
    relay.add(LINK, server[1])
    yield relay
    relay.close()


def _client(port: int) -> Redis:
    # No retries: a timeout is what the check looks for.
    return Redis(
        host="127.0.0.1",
        port=port,
        password=PASSWORD,
        socket_timeout=1,
        retry=Retry(NoBackoff(), 0),
    )


def _crossed_while_cut(links: Links, server_port: int, cut: bool) -> list[str]:
    """With the link cut (when `cut`), what still crossed it: nothing, for a real partition.
    The server's own port keeps answering throughout."""
    through = _client(links.ports[LINK])
    assert through.ping()  # a connection made before the cut
    if cut:
        links.command("partition", LINK)
    crossed = []
    try:
        through.ping()
        crossed.append("a command on a connection made before the cut")
    except RedisTimeout:
        pass
    try:
        _client(links.ports[LINK]).ping()
        crossed.append("a command on a new connection")
    except RedisTimeout:
        pass
    assert _client(server_port).ping(), "the server itself stopped answering"
    links.command("heal", LINK)
    return crossed


def test_a_partitioned_link_carries_nothing_and_a_healed_one_carries_again(
    links: Links, server: tuple[ManagedProcess, int]
) -> None:
    # act
    crossed = _crossed_while_cut(links, server[1], cut=True)

    # assert: nothing crossed while cut; once healed, a new connection is served
    assert crossed == []
    assert _client(links.ports[LINK]).ping()


def test_a_delayed_link_slows_each_exchange_and_heals(links: Links) -> None:
    # arrange
    client = _client(links.ports[LINK])
    client.ping()

    # act: 0.3 s a chunk, each way
    links.command("delay", LINK, "0.3")
    started = time.monotonic()
    client.ping()
    slowed = time.monotonic() - started
    links.command("heal", LINK)
    started = time.monotonic()
    client.ping()
    healed = time.monotonic() - started

    # assert: the request and its answer each waited; after healing, no wait
    assert slowed >= 0.6, f"a round trip over the slowed link took {slowed:.2f} s"
    assert healed < 0.3, f"a round trip after healing took {healed:.2f} s"


def _ended_by(links: Links, command: str) -> tuple[int, bool]:
    """How many connections `command` (on the link) says it ended, and whether a connection
    made before it was ended. A raw socket: Redis' client would reconnect unseen."""
    with socket.create_connection(("127.0.0.1", links.ports[LINK]), timeout=2) as before:
        before.sendall(f"AUTH {PASSWORD}\r\nPING\r\n".encode())
        assert _answer(before, b"+PONG") == b"+OK\r\n+PONG\r\n"
        ended = int(links.command(command, LINK) or 0)
        try:
            before.sendall(b"PING\r\n")
            return ended, _answer(before, b"+PONG") == b""
        except ConnectionResetError:
            return ended, True


def _answer(sock: socket.socket, until: bytes) -> bytes:
    """What the server sent until `until` arrived or the connection ended ("": at once)."""
    received = b""
    while until not in received:
        chunk = sock.recv(1024)
        if not chunk:
            break
        received += chunk
    return received


def test_a_reset_link_ends_the_connections_it_carries_and_carries_new_ones(links: Links) -> None:
    # act
    ended, broken = _ended_by(links, "reset")

    # assert: the open connection was ended (the client sees it), a new one is served
    assert (ended, broken) == (1, True)
    assert _client(links.ports[LINK]).ping()


def test_negative_control_a_link_whose_connections_were_not_ended_is_caught(links: Links) -> None:
    # act: the same check with a command that ends nothing
    ended, broken = _ended_by(links, "heal")

    # assert
    assert (ended, broken) == (0, False)


def test_a_bad_command_is_refused_and_changes_nothing(links: Links) -> None:
    # act / assert: an unknown link and an unknown command are refused...
    with pytest.raises(ValueError, match="not a command"):
        links.command("partition", "no-such-link")
    with pytest.raises(ValueError, match="not a command"):
        links.command("flood", LINK)
    with pytest.raises(ValueError, match="not a command"):
        links.add(LINK, 1)  # a name taken already
    # ...and the link still carries
    assert _client(links.ports[LINK]).ping()


def test_negative_control_a_link_that_was_never_cut_is_caught(
    links: Links, server: tuple[ManagedProcess, int]
) -> None:
    # act: the same check, without the partition
    crossed = _crossed_while_cut(links, server[1], cut=False)

    # assert: both commands are reported as having crossed
    assert len(crossed) == 2, crossed
