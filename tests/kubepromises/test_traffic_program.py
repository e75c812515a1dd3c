"""The rolling-update test's traffic (`kubepromises.traffic`) without a cluster: its program run
here against real local servers (one that answers, one that answers 503, a port nothing serves),
stopped by a line on its input; and the choice of a route, on a state of the shop written here.
"""

from __future__ import annotations

import copy
import dataclasses
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from kubepromises.drawing import Drawing
from kubepromises.live import Observed
from kubepromises.static import Obj
from kubepromises.traffic import Route, Seen, TrafficFromHere, parse_seen, probe_path, route_to

#: A short run: enough requests at the program's rate to count.
RUN_SECONDS = 1.0
RATE = 20.0


def serving(status: int) -> Iterator[int]:
    class Answer(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def answering() -> Iterator[int]:
    yield from serving(200)


@pytest.fixture
def failing() -> Iterator[int]:
    yield from serving(503)


@pytest.fixture
def closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def run_for_a_while(port: int) -> Seen:
    """The program against 127.0.0.1:port, until RATE * RUN_SECONDS requests were due."""
    sender = TrafficFromHere(Route(None, "127.0.0.1", port, "/healthz"), rate=RATE)
    threading.Event().wait(RUN_SECONDS)  # a dwell while it sends, not a wait for a condition
    return sender.stop()


def test_requests_to_a_server_that_answers_all_succeed(answering: int) -> None:
    seen = run_for_a_while(answering)

    assert seen.sent >= RATE * RUN_SECONDS / 2, seen
    assert seen.failures == (), seen


def test_negative_control_5xx_answers_are_failures(failing: int) -> None:
    seen = run_for_a_while(failing)

    assert seen.sent > 0
    assert {what for _, what in seen.failures} == {"HTTP 503"}, seen
    assert len(seen.failures) == seen.sent, seen


def test_negative_control_refused_connections_are_failures(closed_port: int) -> None:
    seen = run_for_a_while(closed_port)

    assert seen.sent > 0
    assert {what for _, what in seen.failures} == {"ConnectionRefusedError"}, seen


def test_a_line_on_its_input_stops_the_program_at_once(answering: int) -> None:
    # arrange: a program whose cap is minutes away
    sender = TrafficFromHere(Route(None, "127.0.0.1", answering, "/"), rate=RATE)

    threading.Event().wait(RUN_SECONDS / 4)  # a dwell while it sends (it is sending already)
    assert sender.process.poll() is None, "the program ended by itself"

    # act
    seen = sender.stop()

    # assert: it reported what it sent, well before its cap
    assert seen.sent > 0, seen
    assert seen.seconds < RUN_SECONDS * 10, seen


def test_a_program_that_printed_no_report_is_an_error_quoting_it() -> None:
    with pytest.raises(ValueError, match="python3: not found"):
        parse_seen("sh: 1: python3: not found\n")


# -- the route ------------------------------------------------------------------------------------


def deployment(name: str, container: Obj) -> Obj:
    return {
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": {"spec": {"containers": [container]}},
        },
    }


HTTP_PROBES: Obj = {
    "name": "app",
    "readinessProbe": {"httpGet": {"path": "/readyz", "port": "http"}},
    "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http"}},
}


def ready_pod(workload: str) -> Obj:
    return {
        "kind": "Pod",
        "metadata": {"name": f"{workload}-0", "labels": {"app": workload}},
        "spec": {"nodeName": "worker"},
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]},
    }


def state(shop: Drawing, containers: dict[str, Obj] | None = None) -> Observed:
    """The shop's services running, a Ready pod each, on one node with an address."""
    names = [w.name for w in shop.services]
    containers = containers or {}
    node = {
        "kind": "Node",
        "metadata": {"name": "worker"},
        "spec": {},
        "status": {
            "conditions": [{"type": "Ready", "status": "True"}],
            "addresses": [{"type": "InternalIP", "address": "10.0.0.7"}],
        },
    }
    return Observed(
        pods=tuple(ready_pod(n) for n in names),
        workloads=tuple(deployment(n, containers.get(n, HTTP_PROBES)) for n in names),
        endpoint_slices=(),
        claims=(),
        configmaps=frozenset(),
        secrets=frozenset(),
        nodes=(node,),
    )


def test_a_called_service_gets_its_traffic_from_a_callers_pod(shop: Drawing) -> None:
    route = route_to(shop, "offline", state(shop), shop.workload("checkout"))

    assert route == Route("storefront-0", "checkout", 8001, "/healthz")


def test_a_service_nobody_calls_gets_its_traffic_through_its_node_port(shop: Drawing) -> None:
    route = route_to(shop, "offline", state(shop), shop.workload("storefront"))

    assert route == Route(None, "10.0.0.7", 30100, "/healthz")


def test_the_path_is_the_liveness_probes_else_the_readiness_probes() -> None:
    readiness_only = copy.deepcopy(HTTP_PROBES)
    del readiness_only["livenessProbe"]

    assert probe_path(deployment("a", HTTP_PROBES)) == "/healthz"
    assert probe_path(deployment("a", readiness_only)) == "/readyz"
    assert probe_path(deployment("a", {"name": "app", "livenessProbe": {"tcpSocket": {}}})) is None


def test_a_service_without_an_http_probe_or_a_caller_has_no_route_and_says_why(
    shop: Drawing,
) -> None:
    tcp_only: Obj = {"name": "app", "livenessProbe": {"tcpSocket": {"port": 8001}}}
    no_http = state(shop, {"checkout": tcp_only})
    no_caller = dataclasses.replace(state(shop), pods=())

    assert route_to(shop, "offline", no_http, shop.workload("checkout")) == (
        "Deployment/checkout has no HTTP probe to learn a path from"
    )
    assert route_to(shop, "offline", no_caller, shop.workload("checkout")) == (
        "no Ready caller of checkout and no node port in front of it"
    )
