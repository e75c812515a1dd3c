"""Steady requests to a workload while the cluster changes it, and what they met: the traffic a
rolling update must not fail.

The requests come from one program (PROGRAM), run where the workload is reached:
- inside a Ready pod of a workload that calls it (the drawing's calls), by the exec API, so the
  name is resolved by the cluster's DNS, routed by its Service and let through by its
  NetworkPolicies, as its callers meet them;
- or, for a workload no other workload calls, on this machine against its node port.

Once it says it is sending (its first line), it sends GET requests at a steady rate, each on a
new connection (so kube-proxy chooses a pod per request), until it reads a line on its standard
input or its time cap ends, then prints one JSON line: how many it sent, for how long, and each
failure (seconds since its start, what it met). A failure is a connection refused, reset or
timed out (REQUEST_TIMEOUT_SECONDS), or a 5xx answer; any other answer means the workload
answered. The path asked is the one the workload's own liveness (else readiness) probe asks, so
it needs nothing of the drawing beyond what the manifests say.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from typing import Any, Protocol

from kubepromises.drawing import Drawing, Workload
from kubepromises.live import Observed, node_addresses, pod_to_call_from
from kubepromises.static import Obj, find

#: argv: host, port, path, requests a second, the most seconds it runs, the seconds a request
#: may take, and the line it prints once it is sending (STARTED).
PROGRAM = """\
import http.client, json, sys, threading, time
host, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rate, cap, timeout = float(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6])
started = sys.argv[7]
stop = threading.Event()
threading.Thread(target=lambda: (sys.stdin.readline(), stop.set()), daemon=True).start()
start, sent, failures = time.monotonic(), 0, []
print(started, flush=True)
while not stop.is_set() and time.monotonic() - start < cap:
    at = round(time.monotonic() - start, 2)
    try:
        connection = http.client.HTTPConnection(host, port, timeout=timeout)
        connection.request("GET", path)
        status = connection.getresponse().status
        connection.close()
        if status >= 500:
            failures.append([at, f"HTTP {status}"])
    except Exception as error:
        failures.append([at, type(error).__name__])
    sent += 1
    time.sleep(max(0.0, start + sent / rate - time.monotonic()))
seconds = round(time.monotonic() - start, 2)
print(json.dumps({"sent": sent, "seconds": seconds, "failures": failures}), flush=True)
"""

#: The program's first line: it is sending.
STARTED = "sending"
#: Requests a second: enough that a pod's way out (tens to hundreds of ms) meets some.
RATE = 20.0
#: The program ends by itself after this long, whatever happens to the test that started it.
CAP_SECONDS = 300.0
#: A request not answered in this long failed: a client's patience, not a latency goal.
REQUEST_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class Seen:
    """What the traffic met."""

    sent: int
    seconds: float
    failures: tuple[tuple[float, str], ...]

    def __str__(self) -> str:
        rate = self.sent / self.seconds if self.seconds else 0.0
        shown = ", ".join(f"{what} at {at:g} s" for at, what in self.failures[:5])
        more = f" and {len(self.failures) - 5} more" if len(self.failures) > 5 else ""
        return (
            f"{self.sent} requests in {self.seconds:.1f} s ({rate:.1f}/s), "
            f"{len(self.failures)} failed" + (f": {shown}{more}" if shown else "")
        )


def parse_seen(printed: str) -> Seen:
    """The program's last JSON line; ValueError quoting what it printed when there is none."""
    for line in reversed(printed.splitlines()):
        if line.startswith("{"):
            report = json.loads(line)
            failures = tuple((float(at), str(what)) for at, what in report["failures"])
            return Seen(int(report["sent"]), float(report["seconds"]), failures)
    raise ValueError(f"the traffic program printed no report: {printed[-500:]!r}")


@dataclass(frozen=True)
class Route:
    """Where a workload's traffic comes from: a pod of one of its callers (`pod`), or this
    machine through a node port (`pod` None); and what it asks for."""

    pod: str | None
    host: str
    port: int
    path: str

    def __str__(self) -> str:
        origin = f"pod {self.pod}" if self.pod else "this machine"
        return f"GET http://{self.host}:{self.port}{self.path} from {origin}"


def probe_path(workload: Obj) -> str | None:
    """The HTTP path the workload's first container is probed on: its liveness probe's, else
    its readiness probe's; None when neither asks HTTP."""
    container = workload["spec"]["template"]["spec"]["containers"][0]
    for probe in ("livenessProbe", "readinessProbe"):
        http_get = (container.get(probe) or {}).get("httpGet")
        if http_get:
            return str(http_get.get("path") or "/")
    return None


def route_to(drawing: Drawing, overlay: str, observed: Observed, workload: Workload) -> Route | str:
    """The route for traffic to the workload, or why there is none (a sentence)."""
    obj = find(observed.workloads, workload.kind, workload.name)
    if obj is None:
        return f"{workload.kind}/{workload.name} is not running"
    path = probe_path(obj)
    if path is None:
        return f"{workload.kind}/{workload.name} has no HTTP probe to learn a path from"
    for call in drawing.calls_in(overlay):
        if call.target == workload.name:
            pod = pod_to_call_from(observed, drawing.workload(call.source))
            if pod is not None:
                return Route(pod, workload.name, call.port, path)
    addresses = node_addresses(observed)
    for node_port in drawing.node_ports_in(overlay):
        if node_port.workload == workload.name and addresses:
            return Route(None, addresses[0], node_port.node_port, path)
    return f"no Ready caller of {workload.name} and no node port in front of it"


def arguments(route: Route, rate: float) -> list[str]:
    """PROGRAM's arguments for the route."""
    limits = (rate, CAP_SECONDS, REQUEST_TIMEOUT_SECONDS)
    return [route.host, str(route.port), route.path, *(str(limit) for limit in limits), STARTED]


class Traffic(Protocol):
    def stop(self) -> Seen: ...


class TrafficFromHere:
    """PROGRAM run on this machine, in a process of its own."""

    def __init__(self, route: Route, rate: float = RATE) -> None:
        args = arguments(route, rate)
        self.process = subprocess.Popen(
            [sys.executable, "-c", PROGRAM, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert self.process.stdout is not None
        first = self.process.stdout.readline()
        if first.strip() != STARTED:
            self.process.kill()
            raise RuntimeError(
                f"the traffic program did not start: {first}{self.process.stdout.read()}"
            )

    def stop(self) -> Seen:
        printed, _ = self.process.communicate("stop\n", timeout=30)
        return parse_seen(printed)


class TrafficFromPod:
    """PROGRAM run in the route's pod (its first container), through the exec API."""

    def __init__(self, api: Any, namespace: str, route: Route, rate: float = RATE) -> None:
        from kubernetes import client
        from kubernetes.stream import stream

        assert route.pod is not None
        args = arguments(route, rate)
        # A client of its own: `stream` swaps its client's request method (live.run_in_pod).
        self.api = client.ApiClient(api.configuration)
        self.response = stream(
            client.CoreV1Api(self.api).connect_get_namespaced_pod_exec,
            route.pod,
            namespace,
            command=["python3", "-c", PROGRAM, *args],
            stderr=True,
            stdin=True,
            stdout=True,
            tty=False,
            _preload_content=False,
        )
        first = self.response.readline_stdout(timeout=30)
        if first is None or first.strip() != STARTED:
            printed = f"{first or ''}{self.response.read_all()}"
            self.stop_streaming()
            raise RuntimeError(f"the traffic program did not start in {route.pod}: {printed}")

    def stop_streaming(self) -> None:
        self.response.close()
        self.api.close()

    def stop(self) -> Seen:
        try:
            self.response.write_stdin("stop\n")
            self.response.run_forever(timeout=30)
            printed = str(self.response.read_all())
        finally:
            self.stop_streaming()
        return parse_seen(printed)


def start(api: Any, namespace: str, route: Route, rate: float = RATE) -> Traffic:
    """Traffic on the route, from its pod or from here."""
    if route.pod is None:
        return TrafficFromHere(route, rate)
    return TrafficFromPod(api, namespace, route, rate)
