"""Promise: the nemesis' `sever` really ends every client connection of its server, and the
services, whose pooled connections all die at once, serve the next order without a failure.

A sever that ended nothing would leave the campaign's `sever` faults checking nothing while
their counts said otherwise; the negative control shows the check below catches one.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

import httpx
import psycopg
from redis import Redis

from suites.system.stack import REDIS_PASSWORD, Infra, new_product, order_body

from . import nemesis
from .conftest import CampaignRun
from .runner import severers_of
from .schedule import Clock


def _not_ended(infra: Infra, severers: Mapping[str, nemesis.Severer]) -> list[str]:
    """Sever each server once with a session of our own open on it: the sessions that
    survived (none, when the severers work)."""
    postgres = infra.db("orders")
    postgres_pid = postgres.info.backend_pid
    redis = Redis(host="127.0.0.1", port=infra.redis_port, password=REDIS_PASSWORD)
    redis_id = redis.client_id()

    for process in (infra.postgres, infra.redis):
        window = nemesis.inject(process, "sever", Clock(), 0.0, severer=severers[process.name])
        assert window.kind == "sever", window

    survivors = []
    try:
        postgres.execute("SELECT 1")
        survivors.append(f"PostgreSQL session {postgres_pid}")
    except psycopg.OperationalError:
        pass
    # redis-py reconnects by itself: a surviving connection keeps its id, a new one has another.
    if redis.client_id() == redis_id:
        survivors.append(f"Redis client {redis_id}")
    postgres.close()
    redis.close()
    return survivors


def test_a_sever_ends_every_connection_and_the_next_order_succeeds(
    campaign_run: CampaignRun,
) -> None:
    # arrange: the campaign's stack, now quiet
    stack = campaign_run.stack
    sku = new_product(stack.inventory.url, 10)

    # act: every client connection of PostgreSQL and Redis ended
    survivors = _not_ended(stack.infra, severers_of(stack.infra))
    placed = httpx.post(
        f"{stack.gateway.url}/api/orders",
        json=order_body((sku, 1)),
        headers={"X-Forwarded-For": f"sever-{time.monotonic_ns()}"},
        timeout=15,
    )

    # assert: no session survived, and the services reconnected for the next order
    assert survivors == []
    assert placed.status_code == 201, placed.text
    assert placed.json()["status"] == "confirmed", placed.text


def test_negative_control_a_sever_that_ends_nothing_is_caught(campaign_run: CampaignRun) -> None:
    # arrange: severers that end no connection
    infra = campaign_run.stack.infra
    idle = nemesis.Severer("nothing", lambda: 0)

    # act
    survivors = _not_ended(infra, {infra.postgres.name: idle, infra.redis.name: idle})

    # assert: both of our sessions are reported as surviving
    assert len(survivors) == 2, survivors
