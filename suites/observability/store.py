"""The log store as the suites see it: the `elasticsearch` Service on the host, as the
administrator of `elasticsearch-secret` (`elastic`).

Online, where the overlay deploys Kibana, the same queries go through Kibana's API instead
(issue 6: "through Kibana's API where Kibana is deployed"): `KibanaLogStore` below.

The store is reached with `kubectl port-forward` (the testbed's own kubectl and kubeconfig) to
a free port on 127.0.0.1. A port-forward enters the pod's network namespace through the
kubelet, so the store's NetworkPolicy (which admits only the shipper, Logstash and Kibana)
stays closed, no NodePort is added for a test, and one tunnel serves every query of the
session: polling it costs milliseconds, which matters when measuring latency. (A `kubectl
exec curl` per query would add a process and an API round trip to every poll.)

Queries go through httpx: the `elasticsearch` Python client 8.x refuses to talk to a server
that does not call itself Elasticsearch (the X-Elastic-Product header), and OpenSearch does
not; the same few REST calls serve both stores.
"""

from __future__ import annotations

import re
import subprocess
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import IO, Any

import httpx
import pytest

from kubepromises.waiting import NotYet, eventually
from suites import promises
from testbed.cluster import Testbed
from testbed.kibana import (
    KIBANA_URL,
    SECRET,
    XSRF_HEADER,
    Credentials,
    Kibana,
    console_proxy_path,
    credentials_from_secret,
)
from testbed.kube import Kube

#: Daily indices the shipper writes (airgap/images/log-shipper/rsyslog.conf: INDEX_PREFIX;
#: online, Logstash's pipeline in manifests/components/elk/logstash.yaml).
LOG_INDICES = f"{promises.LOG_INDEX_PREFIX}*"
STORE_SERVICE = "svc/elasticsearch"
STORE_PORT = 9200
SHIPPER = "log-shipper"
#: `lines_of`: the request ids asked for in one query, and the most lines one query returns
#: (the store's default window). An order's request leaves about ten lines across the services.
REQUEST_IDS_PER_QUERY = 250
MAX_HITS = 10_000


def _drain(stream: IO[str] | None) -> None:
    if stream is not None:
        for _ in stream:
            pass


class LogStore:
    """The few queries the suite needs, over a port-forward that can be reopened.

    A port-forward to a Service ends with the pod it picked: after the store's pod is replaced,
    `reopen()` starts a new one.
    """

    def __init__(self, testbed: Testbed, kube: Kube, credentials: Credentials) -> None:
        self._command = [
            str(testbed.kubectl_binary()),
            f"--kubeconfig={testbed.settings.kubeconfig}",
            "--namespace",
            kube.namespace,
            "port-forward",
            "--address",
            "127.0.0.1",
            STORE_SERVICE,
            f":{STORE_PORT}",
        ]
        self._forward: subprocess.Popen[str] | None = None
        self.http = httpx.Client(timeout=10, auth=(credentials.username, credentials.password))

    def open(self) -> None:
        """Start the port-forward and wait until the store answers through it."""
        forward = subprocess.Popen(
            self._command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        assert forward.stdout is not None
        first = forward.stdout.readline()  # "Forwarding from 127.0.0.1:41234 -> 9200"
        match = re.search(r"127\.0\.0\.1:(\d+)", first)
        if match is None:
            forward.kill()
            _, errors = forward.communicate(timeout=10)
            pytest.fail(f"kubectl port-forward to {STORE_SERVICE} failed: {first}{errors}")
        # kubectl prints a line per connection: keep reading, or a full pipe would stall it.
        for stream in (forward.stdout, forward.stderr):
            threading.Thread(target=_drain, args=(stream,), daemon=True).start()
        self._forward = forward
        self.http.base_url = httpx.URL(f"http://127.0.0.1:{match.group(1)}")

        def answers() -> None:
            response = self.http.get("/_cluster/health")
            if response.status_code != 200:
                raise NotYet(f"{response.status_code}: {response.text}")

        eventually(answers, timeout=60, what="the log store answers through the port-forward")

    def close(self) -> None:
        if self._forward is None:
            return
        self._forward.terminate()
        try:
            self._forward.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._forward.kill()
        self._forward = None

    def reopen(self) -> None:
        self.close()
        self.open()

    def search(self, query: dict[str, Any], size: int = 100, **extra: Any) -> dict[str, Any]:
        body = {"query": query, "size": size, **extra}
        found: dict[str, Any] = self._post("_search", body).json()
        return found

    def documents(self, field: str, value: str, size: int = 100) -> list[dict[str, Any]]:
        """The _source of documents whose `field` is exactly `value`."""
        hits = self.search({"term": {f"{field}.keyword": value}}, size=size)["hits"]["hits"]
        return [hit["_source"] for hit in hits]

    def lines_of(
        self, request_ids: Iterable[str], service: str | None = None
    ) -> dict[str, list[dict[str, Any]]]:
        """The lines logged under each of `request_ids` (optionally by one service only), by
        request id, oldest first; an id nothing logged is absent."""
        found: dict[str, list[dict[str, Any]]] = {}
        wanted = sorted(set(request_ids))
        for start in range(0, len(wanted), REQUEST_IDS_PER_QUERY):
            batch = wanted[start : start + REQUEST_IDS_PER_QUERY]
            terms: list[dict[str, Any]] = [{"terms": {"request_id.keyword": batch}}]
            if service is not None:
                terms.append({"term": {"service.keyword": service}})
            hits = self.search(
                {"bool": {"filter": terms}}, size=MAX_HITS, sort=[{"@timestamp": "asc"}]
            )["hits"]
            total = hits["total"]
            if total.get("relation") == "gte" or len(hits["hits"]) < total["value"]:
                raise ValueError(
                    f"{total['value']}+ lines for {len(batch)} request ids: more than one query "
                    f"returns ({MAX_HITS}); REQUEST_IDS_PER_QUERY is too high"
                )
            for hit in hits["hits"]:
                line = hit["_source"]
                found.setdefault(str(line["request_id"]), []).append(line)
        return found

    def count(self, query: dict[str, Any]) -> int:
        counted: int = self._post("_count", {"query": query}).json()["count"]
        return counted

    def _post(self, endpoint: str, body: dict[str, Any]) -> httpx.Response:
        """POST to the log indices; a store that cannot answer yet is NotYet, not a failure."""
        try:
            response = self.http.post(f"/{LOG_INDICES}/{endpoint}", json=body)
        except httpx.TransportError as error:
            raise NotYet(f"the store did not answer: {error!r}") from error
        if response.status_code in {429, 503}:  # shards of a new daily index not started yet
            raise NotYet(f"the store answered {response.status_code}: {response.text[:200]}")
        response.raise_for_status()
        return response

    def distinct(self, query: dict[str, Any], field: str) -> int:
        """How many distinct values `field` has among the matching documents (exact below 3000)."""
        aggs = {"n": {"cardinality": {"field": field, "precision_threshold": 3000}}}
        found = self.search(query, size=0, aggs=aggs)
        # No daily index yet: the wildcard matches nothing and there are no aggregations.
        value: int = found.get("aggregations", {}).get("n", {}).get("value", 0)
        return value


class KibanaLogStore(LogStore):
    """The same queries through Kibana's console proxy, on Kibana's NodePort, as elastic.

    Each query is POST /api/console/proxy?path=<indices>/<endpoint>&method=POST, which Kibana
    forwards to Elasticsearch and answers with Elasticsearch's status and body. Nothing to
    tunnel: `reopen()` waits until Kibana is available again (it is not while the store is down).
    """

    def __init__(self, credentials: Credentials) -> None:
        self._kibana = Kibana(credentials)
        headers = {"Authorization": credentials.authorization(), **XSRF_HEADER}
        self.http = httpx.Client(base_url=KIBANA_URL, headers=headers, timeout=10)

    def open(self) -> None:
        self._kibana.wait_available(timeout=180)

    def close(self) -> None:
        pass

    def _post(self, endpoint: str, body: dict[str, Any]) -> httpx.Response:
        try:
            response = self.http.post(console_proxy_path(LOG_INDICES, endpoint), json=body)
        except httpx.TransportError as error:
            raise NotYet(f"Kibana did not answer: {error!r}") from error
        # 429/503 from the store as above; 502/504 (and 500) from Kibana while the store is gone.
        if response.status_code in {429, 500, 502, 503, 504}:
            raise NotYet(f"Kibana answered {response.status_code}: {response.text[:200]}")
        response.raise_for_status()
        return response


def shipper_pods_ready(kube: Kube) -> int:
    """Until the shipper DaemonSet has a ready pod on every node it schedules to."""
    daemonset = kube.apps.read_namespaced_daemon_set(SHIPPER, kube.namespace)
    status = daemonset.status
    desired, ready = status.desired_number_scheduled or 0, status.number_ready or 0
    current = status.updated_number_scheduled or 0
    if desired == 0 or ready != desired or current != desired:
        raise NotYet(f"log-shipper: {ready}/{desired} ready, {current} updated")
    return ready


def ships_logs(overlay: str) -> bool:
    """Whether the overlay deploys the log shipper (else there is no log path to check)."""
    return any(agent.name == SHIPPER for agent in promises.node_agents_in(overlay))


@contextmanager
def opened(testbed: Testbed, kube: Kube, overlay: str) -> Iterator[LogStore]:
    """The store (through Kibana where deployed, else a port-forward), once it and the shipper
    are ready; closed on leaving."""
    eventually(
        lambda: shipper_pods_ready(kube),
        timeout=180,
        interval=2,
        what="the log-shipper DaemonSet ready on every node",
        hint="kubectl -n demo-micro describe daemonset log-shipper; its pods' logs",
    )
    store: LogStore
    secret = kube.core.read_namespaced_secret(SECRET, kube.namespace)
    administrator = credentials_from_secret(secret.data or {})
    if promises.deployed("elk", overlay):
        store = KibanaLogStore(administrator)
    else:
        store = LogStore(testbed, kube, administrator)
    store.open()
    try:
        yield store
    finally:
        store.close()
        store.http.close()
