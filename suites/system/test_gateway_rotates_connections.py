"""Promise: the gateway's pool does not pin a backend's traffic to the pods it reached first.

Kubernetes balances a Service per connection. The gateway retires every n-th pooled connection
(`UPSTREAM_ROTATE_EVERY`), so new connections — which kube-proxy may send to any ready pod —
keep appearing under steady keep-alive traffic. Here the backend is a real HTTP server that
records which client connection each request came on.
"""

import asyncio

from aiohttp import web

from system.api_gateway import upstream
from system.api_gateway.upstream import Reply, Upstream

REQUESTS = 40


async def connections_used(rotate_every: int) -> int:
    """How many distinct client connections `REQUESTS` sequential requests arrived on."""
    peers: set[object] = set()

    async def hello(request: web.Request) -> web.Response:
        peers.add(request.transport.get_extra_info("peername") if request.transport else None)
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_get("/hello", hello)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    client = upstream.session(
        connect_seconds=1, read_seconds=5, pool_wait_seconds=1, max_connections=10
    )
    try:
        backend = Upstream("backend", f"http://127.0.0.1:{port}", client, rotate_every)
        for _ in range(REQUESTS):
            reply = await backend.send("GET", "/hello", idempotent=True)
            assert isinstance(reply, Reply), reply
            assert reply.status == 200, reply
    finally:
        await client.close()
        await runner.cleanup()
    return len(peers)


def test_every_nth_request_to_a_backend_retires_its_connection() -> None:
    assert asyncio.run(connections_used(rotate_every=10)) == REQUESTS // 10


def test_without_rotation_keep_alive_reuses_one_connection() -> None:
    # negative control: the same traffic without rotation stays on one connection
    assert asyncio.run(connections_used(rotate_every=0)) == 1
