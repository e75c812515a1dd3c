"""The testbed's Kibana calls: the request bodies, and one data view however often it runs.

A small fake Kibana (http.server on loopback) stands in for the real one, which this machine
cannot run (no registry); it checks the headers Kibana requires and keeps the views in memory.
Marked `fake`: these tests can fail the log promise, never verify it (the report says so).
"""

from __future__ import annotations

import base64
import json
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from kubepromises.waiting import NotYet
from testbed.kibana import (
    DATA_VIEW_ID,
    LOG_INDEX_PATTERN,
    Credentials,
    Kibana,
    available,
    console_proxy_path,
    credentials_from_secret,
    data_view_request,
    default_view_request,
)
from testbed.settings import DRAWING

pytestmark = pytest.mark.fake("kibana")

ELASTIC = Credentials("elastic", "dev-only-elastic-password")


def test_the_data_view_covers_the_daily_log_indices_in_time_order() -> None:
    body = data_view_request()
    assert body["data_view"]["title"] == LOG_INDEX_PATTERN == f"{DRAWING.log_index_prefix}*"
    assert body["data_view"]["id"] == DATA_VIEW_ID
    assert body["data_view"]["timeFieldName"] == "@timestamp"
    assert body["override"] is False


def test_the_data_view_becomes_the_default_one() -> None:
    assert default_view_request() == {"data_view_id": DATA_VIEW_ID, "force": True}


def test_credentials_come_from_the_secrets_base64_data() -> None:
    data = {
        key: base64.b64encode(value.encode()).decode()
        for key, value in {"ELASTIC_USERNAME": "elastic", "ELASTIC_PASSWORD": "p@ss:word"}.items()
    }
    credentials = credentials_from_secret(data)
    assert credentials == Credentials("elastic", "p@ss:word")
    assert credentials.authorization() == "Basic " + base64.b64encode(b"elastic:p@ss:word").decode()


def test_a_secret_without_the_password_is_named() -> None:
    with pytest.raises(KeyError, match="ELASTIC_PASSWORD"):
        credentials_from_secret({"ELASTIC_USERNAME": base64.b64encode(b"elastic").decode()})


def test_the_console_proxy_path_carries_the_index_endpoint_and_method() -> None:
    path = console_proxy_path("app-logs-*", "_search")
    assert path.startswith("/api/console/proxy?")
    query = urllib.parse.parse_qs(path.partition("?")[2])
    assert query == {"path": ["app-logs-*/_search"], "method": ["POST"]}


def test_only_an_available_overall_status_counts() -> None:
    assert available({"status": {"overall": {"level": "available"}}})
    assert not available({"status": {"overall": {"level": "degraded"}}})
    assert not available({})


class FakeKibana(BaseHTTPRequestHandler):
    """The data views API as far as the testbed uses it."""

    views: dict[str, dict[str, Any]]
    default: str | None
    creations: int

    def _answer(self, status: int, body: object) -> None:
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def _authorized(self) -> bool:
        if self.headers.get("Authorization") != ELASTIC.authorization():
            self._answer(401, {"message": "Unauthorized"})
            return False
        return True

    def do_GET(self) -> None:
        if not self._authorized():
            return
        if self.path == "/api/status":
            self._answer(200, {"status": {"overall": {"level": "available"}}})
            return
        view = self.path.removeprefix("/api/data_views/data_view/")
        if view in type(self).views:
            self._answer(200, {"data_view": type(self).views[view]})
        else:
            self._answer(404, {"message": f"Saved object [index-pattern/{view}] not found"})

    def do_POST(self) -> None:
        if not self._authorized():
            return
        if "kbn-xsrf" not in self.headers:
            self._answer(400, {"message": "Request must contain a kbn-xsrf header."})
            return
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        cls = type(self)
        if self.path == "/api/data_views/data_view":
            view = body["data_view"]
            if view["id"] in cls.views:
                self._answer(409, {"message": "Duplicate data view"})
                return
            cls.views[view["id"]] = view
            cls.creations += 1
            self._answer(200, {"data_view": view})
        elif self.path == "/api/data_views/default":
            cls.default = body["data_view_id"]
            self._answer(200, {"acknowledged": True})
        else:
            self._answer(404, {"message": "Not Found"})

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def fake_kibana() -> Iterator[tuple[str, type[FakeKibana]]]:
    handler = type("Handler", (FakeKibana,), {"views": {}, "default": None, "creations": 0})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()


def test_the_data_view_is_created_once_however_often_the_testbed_runs(
    fake_kibana: tuple[str, type[FakeKibana]],
) -> None:
    # arrange
    url, state = fake_kibana
    kibana = Kibana(ELASTIC, url=url)

    # act
    kibana.wait_available(timeout=5)
    first, second = kibana.ensure_data_view(), kibana.ensure_data_view()

    # assert
    assert "created" in first
    assert "already there" in second
    assert state.creations == 1
    assert state.views[DATA_VIEW_ID]["title"] == LOG_INDEX_PATTERN
    assert state.default == DATA_VIEW_ID


def test_a_kibana_that_refuses_the_credentials_is_not_available(
    fake_kibana: tuple[str, type[FakeKibana]],
) -> None:
    url, _ = fake_kibana
    with pytest.raises(NotYet, match="401"):
        Kibana(Credentials("elastic", "wrong"), url=url).status()


def test_a_kibana_that_does_not_answer_is_not_available() -> None:
    with pytest.raises(NotYet, match="did not answer"):
        Kibana(ELASTIC, url="http://127.0.0.1:9").status()
