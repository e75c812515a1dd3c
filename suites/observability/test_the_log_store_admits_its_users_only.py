"""Least privilege on the log store, live: it answers no request without a user, and the log
shipper's user may write log lines and nothing else.

Asked through the suite's port-forward to the store (store.py), as nobody, as the shipper's
writer and as the administrator, with the users of `elasticsearch-secret`. The manifests' side
(the store takes its users from the Secret; the shipper logs in as the writer, for the promised
indices alone) is checked statically in suites/static/test_log_path.py, with negative controls.
Online the same users belong to Elasticsearch's own security; Kibana's deployments query
through Kibana, so there these tests are not verified.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from suites import promises
from testbed.kibana import SECRET, Credentials, credentials_from_secret
from testbed.kube import Kube

from .store import KibanaLogStore, LogStore

pytestmark = pytest.mark.cluster

#: An endpoint the security plugin answers to anybody (its own health), for the control.
OPEN_ENDPOINT = "/_plugins/_security/health"


def _user(kube: Kube, which: str) -> Credentials:
    secret = kube.core.read_namespaced_secret(SECRET, kube.namespace)
    return credentials_from_secret(secret.data or {}, which)


@pytest.fixture(scope="module")
def store_url(log_store: LogStore) -> httpx.URL:
    if isinstance(log_store, KibanaLogStore):
        pytest.skip("not verified: this overlay's store is reached through Kibana only")
    return log_store.http.base_url


def _client(store_url: httpx.URL, user: Credentials | None) -> httpx.Client:
    """A client of the store as `user` (None: as nobody)."""
    auth = (user.username, user.password) if user is not None else None
    return httpx.Client(base_url=store_url, auth=auth, timeout=10)


@pytest.fixture(scope="module")
def administrator(store_url: httpx.URL, kube: Kube) -> Iterator[httpx.Client]:
    with _client(store_url, _user(kube, "ELASTIC")) as client:
        yield client


@pytest.fixture(scope="module")
def writer(store_url: httpx.URL, kube: Kube) -> Iterator[httpx.Client]:
    with _client(store_url, _user(kube, "LOG_WRITER")) as client:
        yield client


@pytest.fixture(scope="module")
def nobody(store_url: httpx.URL) -> Iterator[httpx.Client]:
    with _client(store_url, None) as client:
        yield client


@pytest.fixture
def probe_indices(administrator: httpx.Client) -> Iterator[tuple[str, str]]:
    """A log index of this test's own (under the promised prefix) and an index outside the
    prefix, both deleted afterwards."""
    run = uuid.uuid4().hex[:8]
    inside = f"{promises.LOG_INDEX_PREFIX}least-privilege-{run}"
    outside = f"least-privilege-{run}"
    try:
        yield inside, outside
    finally:
        for index in (inside, outside):
            administrator.delete(f"/{index}")


def answered_without_a_user(client: httpx.Client, path: str) -> bool:
    """Whether the store answers GET `path` to `client`'s requests (401 means it asked who)."""
    status = client.get(path).status_code
    assert status in {200, 401}, f"GET {path}: {status}, neither an answer nor a refusal"
    return status == 200


def permitted_beyond_writing(client: httpx.Client, inside: str, outside: str) -> dict[str, bool]:
    """Whether `client`'s user may, besides adding a log line to the index `inside`: read the
    lines, change or delete one, drop the index, write to the index `outside`, read the
    cluster's state. Adding the line must work (else the user is no writer at all)."""
    line = {"message": "least-privilege probe", "@timestamp": "2026-12-07T00:00:00Z"}
    added = client.post(f"/{inside}/_doc/probe", json=line)
    assert added.status_code in {200, 201}, f"adding a line to {inside}: {added.text[:300]}"
    attempts = {
        f"search {inside}": client.post(f"/{inside}/_search", json={"size": 1}),
        f"read a line of {inside}": client.get(f"/{inside}/_doc/probe"),
        f"change a line of {inside}": client.post(
            f"/{inside}/_update/probe", json={"doc": {"message": "changed"}}
        ),
        f"delete a line of {inside}": client.delete(f"/{inside}/_doc/probe"),
        f"delete {inside}": client.delete(f"/{inside}"),
        f"write to {outside}": client.post(f"/{outside}/_doc", json=line),
        "read the cluster's health": client.get("/_cluster/health"),
    }
    for what, response in attempts.items():
        assert response.status_code in {200, 201, 403}, f"{what}: {response.status_code}"
    return {what: response.status_code != 403 for what, response in attempts.items()}


def test_the_log_store_answers_no_request_without_a_user(nobody: httpx.Client) -> None:
    for path in ("/", "/_cluster/health", f"/{promises.LOG_INDEX_PREFIX}*/_count"):
        assert not answered_without_a_user(nobody, path), f"GET {path} answered to nobody"


def test_the_log_store_refuses_a_wrong_password(store_url: httpx.URL, kube: Kube) -> None:
    administrator = _user(kube, "ELASTIC")
    wrong = Credentials(administrator.username, administrator.password + "-not")
    with _client(store_url, wrong) as guess:
        assert guess.get("/_cluster/health").status_code == 401


def test_negative_control_an_endpoint_open_to_nobody_is_seen(nobody: httpx.Client) -> None:
    # The same check on the one endpoint the plugin answers to anybody: it says "answered".
    assert answered_without_a_user(nobody, OPEN_ENDPOINT)


def test_the_log_shippers_user_adds_log_lines_and_does_nothing_else(
    writer: httpx.Client, probe_indices: tuple[str, str]
) -> None:
    permitted = permitted_beyond_writing(writer, *probe_indices)
    assert [what for what, allowed in permitted.items() if allowed] == []


def test_negative_control_the_administrator_may_do_all_of_it(
    administrator: httpx.Client, probe_indices: tuple[str, str]
) -> None:
    # The same check on a user who may do everything finds every one of those actions allowed.
    permitted = permitted_beyond_writing(administrator, *probe_indices)
    assert [what for what, allowed in permitted.items() if not allowed] == []
