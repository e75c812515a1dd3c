"""Network links the campaign can cut or slow: a TCP relay in front of a server for one client
service, so one edge of the system fails while the others work (a partition of one link; a
`pause` already stands for a whole process cut off).

The relay runs in a process of its own (`python -m suites.campaign.links`), so its forwarding
never waits for the campaign's own interpreter; it prints `ready`, then takes one command per
line on its stdin and answers `ok` (with the port, for `add`) or `error: ...`:

- `add NAME PORT`: a new link to the server on PORT; the answer names the port it listens on;
- `partition NAME`: nothing more crosses the link, either way, and new connections are held
  (accepted by the kernel, never connected onwards), as when packets are dropped: clients see
  only their own timeouts. What was sent waits in TCP's buffers and arrives once the link heals,
  late, as retransmissions would deliver it;
- `delay NAME SECONDS`: every chunk waits SECONDS before it is forwarded, each way (a slow link:
  each round trip of a conversation pays twice);
- `reset NAME`: every connection the link carries now is ended with a TCP reset, both ways,
  as a proxy's restart or a load balancer's idle timeout ends them; the link goes on relaying
  new connections. The answer counts the connections ended;
- `heal NAME`: relay at once again.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import subprocess
import sys
import threading
from pathlib import Path

CHUNK = 65536
#: SO_LINGER on with a zero timeout: closing the socket sends a reset, not a FIN.
RESET_ON_CLOSE = struct.pack("ii", 1, 0)


class _Link:
    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.open = asyncio.Event()
        self.open.set()
        self.delay = 0.0
        #: The connections relayed now: each one's writers to its client and to the server.
        self.connections: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()

    def reset(self) -> int:
        """End every connection relayed now with a reset to both its ends; how many."""
        ended = list(self.connections)
        for pair in ended:
            for writer in pair:
                sock = writer.get_extra_info("socket")
                if sock is not None:
                    with contextlib.suppress(OSError):
                        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, RESET_ON_CLOSE)
                writer.transport.abort()
        self.connections.clear()
        return len(ended)

    async def relay(self, client: asyncio.StreamReader, to_client: asyncio.StreamWriter) -> None:
        await self.open.wait()
        try:
            server, to_server = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            to_client.close()
            return
        pumps = [
            asyncio.create_task(self._pump(client, to_server)),
            asyncio.create_task(self._pump(server, to_client)),
        ]
        pair = (to_client, to_server)
        self.connections.add(pair)
        try:
            await asyncio.gather(*pumps)
        except (OSError, asyncio.IncompleteReadError):
            pass  # one side reset: the other is closed below, as a broken path would end it
        finally:
            self.connections.discard(pair)
            for task in pumps:
                task.cancel()
            for writer in (to_server, to_client):
                writer.close()

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(CHUNK):
            await self.open.wait()
            if self.delay:
                await asyncio.sleep(self.delay)
                await self.open.wait()
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()


async def _serve() -> None:
    links: dict[str, _Link] = {}
    print("ready", flush=True)
    commands = asyncio.StreamReader()
    loop = asyncio.get_running_loop()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(commands), sys.stdin)
    while line := (await commands.readline()).decode():
        print(await _apply(links, line.split()), flush=True)


async def _apply(links: dict[str, _Link], words: list[str]) -> str:
    match words:
        case ["add", name, port] if name not in links and port.isdigit():
            links[name] = _Link(int(port))
            server = await asyncio.start_server(links[name].relay, "127.0.0.1", 0)
            return f"ok {server.sockets[0].getsockname()[1]}"
        case ["partition", name] if name in links:
            links[name].open.clear()
        case ["delay", name, seconds] if name in links:
            links[name].delay = float(seconds)
        case ["reset", name] if name in links:
            return f"ok {links[name].reset()}"
        case ["heal", name] if name in links:
            links[name].delay = 0.0
            links[name].open.set()
        case _:
            return f"error: not a command for links {sorted(links)}: {' '.join(words)}"
    return "ok"


class Links:
    """The relay process, its links' listening ports, and the commands that steer it."""

    def __init__(self, log_path: Path) -> None:
        self._log = log_path.open("ab")
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "suites.campaign.links"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
        )
        #: Each link's name and the port its relay listens on.
        self.ports: dict[str, int] = {}
        self._lock = threading.Lock()
        if (line := self._read()) != "ready":
            raise RuntimeError(f"the link relay said {line!r} instead of ready")

    def add(self, name: str, port: int) -> int:
        """A link named `name` to the server on `port`; the port clients use instead."""
        self.ports[name] = int(self.command("add", name, str(port)))
        return self.ports[name]

    def _read(self) -> str:
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            raise RuntimeError(
                f"the link relay exited (exit {self._proc.poll()}): see {self._log.name}"
            )
        return line.strip()

    def command(self, *words: str) -> str:
        """Send one command; what the answer says after `ok`."""
        assert self._proc.stdin is not None
        with self._lock:
            self._proc.stdin.write(" ".join(words) + "\n")
            self._proc.stdin.flush()
            answer = self._read()
        if answer != "ok" and not answer.startswith("ok "):
            raise ValueError(answer)
        return answer.removeprefix("ok").strip()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            if self._proc.stdin is not None:
                self._proc.stdin.close()
        try:
            self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._log.close()


if __name__ == "__main__":
    asyncio.run(_serve())
