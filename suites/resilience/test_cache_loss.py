"""Losing Redis (cache and rate-limit counters) fails no request, and the gateway uses it again
once it is back: Redis is an optimisation, never a dependency of an answer. The control: while
Redis is away, no catalogue read is served from a cache."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from kubepromises.waiting import NotYet, eventually
from suites import promises
from suites.reporting.plugin import Timeline
from suites.resilience.live import record, selector, wait_pods_gone, wait_rolled_out
from testbed.kube import Kube
from testbed.traffic import EVERY_BACKEND, TrafficProbe

pytestmark = pytest.mark.cluster

CACHE = "redis"
RATE = 40.0
REQUESTS_WITHOUT_REDIS = 300


@pytest.fixture
def cache_back(kube: Kube) -> Iterator[None]:
    wait_rolled_out(kube, CACHE, kind="StatefulSet")
    yield
    kube.scale("StatefulSet", CACHE, promises.workload(CACHE).replicas)
    wait_rolled_out(kube, CACHE, kind="StatefulSet")


def served_from_cache(gateway_url: str) -> None:
    """The second of two catalogue reads comes from Redis (X-Cache: hit)."""
    with httpx.Client(base_url=gateway_url, timeout=10) as api:
        api.get("/api/inventory/products")
        verdict = api.get("/api/inventory/products").headers.get("X-Cache", "")
    if verdict != "hit":
        raise NotYet(f"X-Cache: {verdict}")


def test_losing_redis_fails_no_request_and_the_cache_is_used_again_once_it_is_back(
    kube: Kube, gateway_url: str, timeline: Timeline, cache_back: None
) -> None:
    # arrange: the cache in use
    eventually(
        lambda: served_from_cache(gateway_url), timeout=30, what="catalogue reads from Redis"
    )
    pods = {p.metadata.name for p in kube.pods(selector(CACHE))}

    with TrafficProbe(gateway_url, EVERY_BACKEND, rate=RATE) as probe:
        # act: Redis goes away, then comes back
        gone_at = probe.elapsed()
        kube.scale("StatefulSet", CACHE, 0)
        wait_pods_gone(kube, pods)
        without = probe.elapsed()

        def served_without_redis() -> None:
            answered = [o for o in probe.snapshot().outcomes if o.at > without]
            if len(answered) < REQUESTS_WITHOUT_REDIS:
                raise NotYet(f"{len(answered)} requests answered since Redis went away")

        eventually(
            served_without_redis,
            timeout=30,
            what=f"{REQUESTS_WITHOUT_REDIS} requests while Redis is away",
        )
        # the control: meanwhile no read comes from a cache (so a "hit" afterwards means Redis)
        with pytest.raises(NotYet):
            served_from_cache(gateway_url)
        kube.scale("StatefulSet", CACHE, promises.workload(CACHE).replicas)
        wait_rolled_out(kube, CACHE, kind="StatefulSet")
        back_at = probe.elapsed()

    # assert: nothing failed, and the gateway caches again
    summary = probe.summary()
    timeline.attach(summary, {"redis scaled to 0": gone_at, "redis Ready": back_at})
    print(f"\nredis down from t={gone_at:.1f}s to t={back_at:.1f}s; traffic: {summary}")
    record("cache_loss.traffic", str(summary))
    assert summary.failures == [], summary.timeline()
    eventually(
        lambda: served_from_cache(gateway_url),
        timeout=30,
        what="the gateway serving from Redis again",
        hint="after a Redis failure the gateway skips it for REDIS_COOLDOWN_SECONDS",
    )
