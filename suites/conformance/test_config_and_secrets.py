"""Configuration: what a service reports comes from its ConfigMap, and a change shows after a
rollout (environment variables are read when a container starts, not while it runs).

Secrets are checked statically (suites/static/test_config_and_secrets.py: credentials only
through secretKeyRef) and live by every test that reaches a database: the services
authenticate with what the Secrets hold.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from suites import promises
from suites.resilience.live import fetch_in_cluster, restart_rollout, wait_rolled_out
from testbed.cluster import Testbed
from testbed.kube import Kube

pytestmark = pytest.mark.cluster

CONFIGMAP = "app-version"
KEY = "APP_VERSION"
SERVICE_NAMES = [s.name for s in promises.SERVICES]


def versions(testbed: Testbed, kube: Kube, gateway_url: str) -> dict[str, str]:
    """Service → the version its /version reports: the backends asked in-cluster through their
    Services' DNS names from a gateway pod (the one caller the NetworkPolicies let reach all
    three), the gateway through its NodePort, as clients reach it."""
    backends = [s for s in promises.SERVICES if s.name != "api-gateway"]
    urls = {f"http://{s.name}:{s.port}/version": s.name for s in backends}
    answers = fetch_in_cluster(testbed, kube, *urls)
    reported = {urls[url]: str(answer["version"]) for url, answer in answers.items()}  # type: ignore[index]
    with httpx.Client(base_url=gateway_url, timeout=10) as api:
        reported["api-gateway"] = str(api.get("/version").raise_for_status().json()["version"])
    return reported


def roll_out_all(kube: Kube, marker: str) -> None:
    for name in SERVICE_NAMES:
        restart_rollout(kube, name, marker)
    for name in SERVICE_NAMES:
        wait_rolled_out(kube, name)


@pytest.fixture
def original_version(kube: Kube) -> Iterator[str]:
    """The ConfigMap's value, put back (and rolled out) after the test."""
    value: str = kube.core.read_namespaced_config_map(CONFIGMAP, kube.namespace).data[KEY]
    yield value
    kube.core.patch_namespaced_config_map(CONFIGMAP, kube.namespace, {"data": {KEY: value}})
    roll_out_all(kube, f"restore-{uuid.uuid4().hex[:8]}")


def test_what_services_report_comes_from_their_configmap(
    testbed: Testbed, kube: Kube, gateway_url: str
) -> None:
    # arrange: the ConfigMap's value
    expected = kube.core.read_namespaced_config_map(CONFIGMAP, kube.namespace).data[KEY]

    # act: ask every service for its version
    reported = versions(testbed, kube, gateway_url)

    # assert: every one reports the ConfigMap's value
    assert reported == dict.fromkeys(SERVICE_NAMES, expected)


def test_a_changed_configmap_value_shows_after_a_rollout(
    testbed: Testbed, kube: Kube, gateway_url: str, original_version: str
) -> None:
    # arrange: a new value in the ConfigMap
    new = f"{original_version}-conformance.{uuid.uuid4().hex[:6]}"
    kube.core.patch_namespaced_config_map(CONFIGMAP, kube.namespace, {"data": {KEY: new}})

    # act 1: no rollout yet — running containers keep the environment they started with
    before = versions(testbed, kube, gateway_url)
    # act 2: roll every service out
    roll_out_all(kube, new)
    after = versions(testbed, kube, gateway_url)

    # assert: unchanged before the rollout, the new value everywhere after it
    assert before == dict.fromkeys(SERVICE_NAMES, original_version)
    assert after == dict.fromkeys(SERVICE_NAMES, new)
