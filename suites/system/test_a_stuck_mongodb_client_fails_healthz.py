"""A MongoDB client that no longer watches its server fails /healthz, so that the kubelet
restarts the container; a MongoDB that is merely down fails only /readyz.

Found by `tox -e external` on 6 Dec 2026: one notification-service replica still saw the refusal
of its first connection 7 minutes later and never became Ready, while /healthz answered, so it was
never restarted (system/common/mongo_monitor.py). The stuck client is staged here by holding its
topology lock, as a lost cancellation would leave it: the monitor's next report then never comes.
The negative control is the first test's own start: /healthz answers 200 while the monitor runs,
and answered 200 before the check existed, stuck or not.
"""

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pymongo import AsyncMongoClient

from suites.system import servers
from suites.system.stack import Stack
from system.common.health import StuckCheck, health_router
from system.common.mongo_monitor import HeartbeatWatch

#: The monitor's check interval in the staged client (the driver's least), and a silence limit
#: four times that: a running monitor never reaches it.
HEARTBEAT_MS = 500
LIMIT_SECONDS = 2.0
#: The service's silence limit in the outage test: above its monitor's longest quiet (a check
#: every 10 s, 3 s to connect), and the outage longer than that limit.
SERVICE_LIMIT_SECONDS = 15.0
OUTAGE_SECONDS = 25.0


@pytest.fixture
def mongodb(tmp_path: Path) -> Iterator[tuple[servers.ManagedProcess, int]]:
    """A MongoDB-wire server of the test's own, started; stopped at the end."""
    mongo, port = servers.ferretdb(tmp_path)
    mongo.start()
    try:
        yield mongo, port
    finally:
        mongo.stop()


def topology_lock(client: AsyncMongoClient[dict[str, Any]]) -> Any:
    """The driver's topology lock, which its monitor and every operation take: pymongo's own
    (`_topology._lock`, private; requirements.lock pins the version). A driver without it fails
    here by name rather than staging nothing."""
    topology = getattr(client, "_topology", None)
    lock = getattr(topology, "_lock", None)
    assert lock is not None, "this pymongo has no _topology._lock: stage the stuck client anew"
    return lock


def test_a_client_whose_monitor_is_stuck_fails_healthz(
    mongodb: tuple[servers.ManagedProcess, int],
) -> None:
    _, port = mongodb

    async def scenario() -> tuple[list[int], httpx.Response]:
        watch = HeartbeatWatch(LIMIT_SECONDS)
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
            "127.0.0.1", port, heartbeatFrequencyMS=HEARTBEAT_MS, event_listeners=[watch]
        )
        app = FastAPI()
        app.include_router(
            health_router("t", "v", [], stuck_checks=[StuckCheck("db client", watch.silence)])
        )
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            try:
                await client.admin.command("ping")
                # arrange: a running monitor, watched for twice the limit (the control)
                running = []
                for _ in range(int(2 * LIMIT_SECONDS / 0.25)):
                    running.append((await http.get("/healthz")).status_code)
                    await asyncio.sleep(0.25)
                # act: the client gets stuck: its topology lock taken and never given back
                lock = topology_lock(client)
                await lock.acquire()
                try:
                    deadline = time.monotonic() + LIMIT_SECONDS + 3 * HEARTBEAT_MS / 1000
                    while time.monotonic() < deadline:
                        stuck = await http.get("/healthz")
                        if stuck.status_code != 200:
                            break
                        await asyncio.sleep(0.25)
                finally:
                    lock.release()
            finally:
                await client.close()
        return running, stuck

    running, stuck = asyncio.run(scenario())

    assert set(running) == {200}, running
    assert stuck.status_code == 503, stuck.text
    assert "db client" in stuck.json()["checks"], stuck.text
    assert "the client is stuck" in stuck.json()["checks"]["db client"], stuck.text


def service_env(stack: Stack, port: int, silence_seconds: float) -> dict[str, str]:
    """notification-service's settings for the test's own MongoDB (no authentication), with
    its silence limit."""
    return {
        **stack.notifications.env,
        "MONGODB_PORT": str(port),
        "MONGODB_DATABASE": "stuck-client",
        "MONGODB_USERNAME": "",
        "MONGODB_AUTH_MECHANISM": "",
        "MONGODB_MONITOR_SILENCE_SECONDS": str(silence_seconds),
    }


def test_notification_service_stays_alive_while_mongodb_is_down(
    stack: Stack, tmp_path: Path, mongodb: tuple[servers.ManagedProcess, int]
) -> None:
    mongo, port = mongodb
    env = service_env(stack, port, SERVICE_LIMIT_SECONDS)
    service, url = servers.service(tmp_path, "notification_service", env)
    service.spawn()
    try:
        service.wait_ready()
        # act: MongoDB goes away for longer than the silence limit
        mongo.stop()
        answers = []
        outage_ends = time.monotonic() + OUTAGE_SECONDS
        while time.monotonic() < outage_ends:
            answers.append(httpx.get(f"{url}/healthz", timeout=5).status_code)
            time.sleep(1)
        readiness = httpx.get(f"{url}/readyz", timeout=5)
        mongo.start()

        # assert: alive throughout (a running monitor reports its failures), unready, and
        # Ready again without a restart
        assert set(answers) == {200}, answers
        assert readiness.status_code == 503, readiness.text
        service.wait_ready()
        assert service.proc is not None
        assert service.proc.poll() is None, service.log_tail()
    finally:
        service.stop()


def test_notification_service_reports_its_stuck_client_on_healthz(
    stack: Stack, tmp_path: Path, mongodb: tuple[servers.ManagedProcess, int]
) -> None:
    """The wiring: a limit below the monitor's interval makes every quiet moment "stuck"."""
    _, port = mongodb
    env = service_env(stack, port, silence_seconds=0.01)
    service, url = servers.service(tmp_path, "notification_service", env)
    service.spawn()
    try:
        health = servers.first_answer(f"{url}/healthz", "notification-service answering /healthz")
        assert health.status_code == 503, health.text
        assert "notification-db client" in health.json()["checks"], health.text
    finally:
        service.stop()
