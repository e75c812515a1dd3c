"""Who is a proxy: the networks TRUSTED_PROXY_CIDRS names, and the addresses the names of
TRUSTED_PROXY_HOSTS resolve to now.

A name is for proxies that move: a headless Service of the ingress controller's pods resolves
to exactly those pods' addresses, wherever they run, so the gateway believes their
X-Forwarded-For and no other pod's, nor a node's. Names are resolved again every refresh; a
name that does not resolve trusts nothing until it does (a client is then counted as the
proxy's own address: one budget for all, never one it chose).
"""

import asyncio
import logging
import socket
from collections.abc import Awaitable, Callable, Sequence
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network

log = logging.getLogger(__name__)

Network = IPv4Network | IPv6Network
#: A name's addresses now (raises OSError when it has none).
Resolve = Callable[[str], Awaitable[list[str]]]


async def resolve(host: str) -> list[str]:
    """The addresses `host` resolves to (the system's resolver: the cluster's DNS in a pod)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


class TrustedProxies:
    def __init__(
        self,
        networks: Sequence[Network],
        hosts: Sequence[str],
        resolver: Resolve = resolve,
        timeout_seconds: float = 2.0,
    ) -> None:
        self._networks = tuple(networks)
        self._hosts = tuple(hosts)
        self._resolve = resolver
        self._timeout = timeout_seconds
        #: The networks trusted now (read per request: a tuple, replaced whole on each refresh).
        self.current: tuple[Network, ...] = self._networks

    async def refresh(self) -> None:
        """Resolve every name again; a name that fails (or takes too long) trusts nothing."""
        addresses: set[str] = set()
        for host in self._hosts:
            try:
                addresses.update(await asyncio.wait_for(self._resolve(host), self._timeout))
            except (OSError, TimeoutError) as exc:
                log.warning("trusted proxy name %s does not resolve, trusting none: %s", host, exc)
        resolved = tuple(ip_network(ip_address(a)) for a in sorted(addresses))
        if set(self._networks + resolved) != set(self.current):
            log.info("trusted proxies now: %s", ", ".join(map(str, self._networks + resolved)))
        self.current = self._networks + resolved

    async def keep_fresh(self, every_seconds: float) -> None:
        """Refresh every `every_seconds`, for ever (a task the app cancels when it stops)."""
        if not self._hosts:
            return
        while True:
            await asyncio.sleep(every_seconds)
            await self.refresh()
