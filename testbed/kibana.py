"""Kibana's data view of the log indices, so that http://127.0.0.1:30561 shows the logs at once.

Online only (the offline overlay has no Kibana). Kibana is reached through its NodePort, which
the kind config maps to the host's loopback, as the elastic user of `elasticsearch-secret`.
The request bodies are built by pure functions (suites/testbed/test_kibana.py checks them).
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from kubepromises.waiting import NotYet, eventually
from testbed.settings import DRAWING

#: Kibana's node port (the drawing's) on the host's loopback (testbed/kind/cluster.yaml).
KIBANA_NODE_PORT = next(p.node_port for p in DRAWING.node_ports if p.workload == "kibana")
KIBANA_URL = f"http://127.0.0.1:{KIBANA_NODE_PORT}"
#: The daily indices both log paths write (Logstash online, rsyslog offline).
LOG_INDEX_PATTERN = f"{DRAWING.log_index_prefix}*"
DATA_VIEW_ID = DRAWING.log_index_prefix.rstrip("-")
DATA_VIEW_NAME = "demo-micro logs"
TIME_FIELD = "@timestamp"
SECRET = "elasticsearch-secret"
#: Kibana refuses API calls that change state without it (cross-site request forgery guard).
XSRF_HEADER = {"kbn-xsrf": "demo-micro-testbed"}


@dataclass(frozen=True)
class Credentials:
    """A user of the log store (or of Kibana)."""

    username: str
    password: str

    def authorization(self) -> str:
        """The value of an HTTP Basic Authorization header."""
        pair = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(pair).decode("ascii")


def credentials_from_secret(data: dict[str, str], user: str = "ELASTIC") -> Credentials:
    """A user from `elasticsearch-secret`'s data (base64 values, as the API gives): `ELASTIC`
    (the superuser, elastic) or `LOG_WRITER` (the log shipper's), by their keys' prefix."""

    def value(key: str) -> str:
        if key not in data:
            raise KeyError(f"{SECRET} has no {key} (keys: {sorted(data)})")
        return base64.b64decode(data[key]).decode()

    return Credentials(value(f"{user}_USERNAME"), value(f"{user}_PASSWORD"))


def data_view_request(
    pattern: str = LOG_INDEX_PATTERN, view_id: str = DATA_VIEW_ID
) -> dict[str, Any]:
    """The body of POST /api/data_views/data_view: the log indices, in time order."""
    return {
        "data_view": {
            "id": view_id,
            "title": pattern,
            "name": DATA_VIEW_NAME,
            "timeFieldName": TIME_FIELD,
        },
        # An existing view of that id is found before creating (see ensure_data_view); never
        # replace one a user may have edited.
        "override": False,
    }


def default_view_request(view_id: str = DATA_VIEW_ID) -> dict[str, Any]:
    """The body of POST /api/data_views/default: Discover opens this view first."""
    return {"data_view_id": view_id, "force": True}


def console_proxy_path(index: str, endpoint: str, method: str = "POST") -> str:
    """The console proxy path that sends `<method> <index>/<endpoint>` to Elasticsearch."""
    query = urllib.parse.urlencode({"path": f"{index}/{endpoint}", "method": method})
    return f"/api/console/proxy?{query}"


def available(status: dict[str, Any]) -> bool:
    """Whether GET /api/status says Kibana is available (8.x: status.overall.level)."""
    level: object = status.get("status", {}).get("overall", {}).get("level")
    return level == "available"


class Kibana:
    """The few Kibana API calls the testbed makes."""

    def __init__(self, credentials: Credentials, url: str = KIBANA_URL) -> None:
        self.credentials = credentials
        self.url = url

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        """(status, decoded JSON body or text) of one request; HTTP errors are answers too."""
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Authorization": self.credentials.authorization(), **XSRF_HEADER}
        if data is not None:
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(self.url + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw.decode(errors="replace")[:500]

    def status(self) -> dict[str, Any]:
        """Kibana's status once it reports itself available, else NotYet."""
        try:
            code, body = self.call("GET", "/api/status")
        except (urllib.error.URLError, OSError) as error:
            raise NotYet(f"{self.url} did not answer: {error!r}") from error
        if code != 200 or not isinstance(body, dict) or not available(body):
            raise NotYet(f"GET /api/status answered {code}: {str(body)[:300]}")
        return body

    def wait_available(self, timeout: float) -> None:
        eventually(
            self.status,
            timeout=timeout,
            interval=3,
            what=f"Kibana available at {self.url}",
            hint="kubectl -n demo-micro describe deployment kibana; the kibana pod's log",
        )

    def ensure_data_view(self) -> str:
        """Create the log data view unless it exists, and make it the default; say what was done."""
        path = f"/api/data_views/data_view/{DATA_VIEW_ID}"
        code, body = self.call("GET", path)
        if code == 200:
            done = f"data view {DATA_VIEW_ID} ({LOG_INDEX_PATTERN}) already there"
        elif code == 404:
            code, body = self.call("POST", "/api/data_views/data_view", data_view_request())
            if code != 200:
                raise RuntimeError(f"creating data view {DATA_VIEW_ID}: {code} {body}")
            done = f"data view {DATA_VIEW_ID} ({LOG_INDEX_PATTERN}) created"
        else:
            raise RuntimeError(f"GET {path} answered {code}: {body}")
        code, body = self.call("POST", "/api/data_views/default", default_view_request())
        if code != 200:
            raise RuntimeError(f"making {DATA_VIEW_ID} the default data view: {code} {body}")
        return done
