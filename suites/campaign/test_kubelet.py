"""The local campaign asks the services' probes as the kubelet does: each probe of the service's
manifest on its period and with its timeout, a new connection each time, from start to stop;
a probe whose answer is late counts as a timeout, one refused as the error."""

import http.server
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from suites import promises
from suites.campaign.kubelet import Kubelet, Probe, probes_of
from suites.system.servers import free_port

#: The stand-in service's probes: one answered at once, one later than its timeout.
PERIOD = 0.2
TIMEOUT = 0.3
LATE_SECONDS = 0.6
ASKING_SECONDS = 1.5


class _Service(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/late":
            time.sleep(LATE_SECONDS)
        self.send_response(200 if self.path in ("/fast", "/late") else 503)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def service_url() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), _Service)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_each_probe_is_asked_on_its_period_and_a_late_answer_is_a_timeout(
    service_url: str,
) -> None:
    probes = [Probe("svc", path, PERIOD, TIMEOUT) for path in ("/fast", "/late", "/unready")] + [
        Probe("gone", "/readyz", PERIOD, TIMEOUT)
    ]
    kubelet = Kubelet({"svc": service_url, "gone": f"http://127.0.0.1:{free_port()}"}, probes)

    kubelet.start()
    time.sleep(ASKING_SECONDS)
    stopping = time.monotonic()
    answers = kubelet.stop()
    stopped_in = time.monotonic() - stopping

    asked = int(ASKING_SECONDS / PERIOD)
    assert asked - 2 <= answers["svc /fast 200"] <= asked + 1, answers
    assert answers["svc /unready 503"] >= asked - 2, answers
    assert answers["svc /late timeout"] >= 2, answers
    assert "svc /late 200" not in answers, answers
    assert answers["gone /readyz ConnectError"] >= asked - 2, answers
    assert stopped_in < TIMEOUT + PERIOD + 0.5, f"stopped in {stopped_in:.2f} s"


MANIFEST = """\
kind: Service
---
kind: Deployment
spec:
  template:
    spec:
      containers:
        - name: svc
          startupProbe: {httpGet: {path: /healthz}, periodSeconds: 1}
          readinessProbe: {httpGet: {path: /readyz}, periodSeconds: 5, timeoutSeconds: 2}
          livenessProbe: {httpGet: {path: /healthz}}
"""


def test_the_probes_are_read_from_a_manifest_with_the_kubelets_defaults(tmp_path: Path) -> None:
    (tmp_path / "svc.yaml").write_text(MANIFEST)

    probes = probes_of("svc", tmp_path)

    assert probes == [Probe("svc", "/readyz", 5.0, 2.0), Probe("svc", "/healthz", 10.0, 1.0)]


@pytest.mark.parametrize("service", [s.name for s in promises.DRAWING.services])
def test_each_service_of_the_drawing_has_both_probes(service: str) -> None:
    assert sorted(p.path for p in probes_of(service)) == ["/healthz", "/readyz"]


def test_a_service_without_a_manifest_or_url_is_refused(tmp_path: Path) -> None:
    with pytest.raises(LookupError, match="no manifest of 'no-such-service'"):
        probes_of("no-such-service")
    (tmp_path / "two.yaml").write_text("kind: Deployment\n---\nkind: Deployment\n")
    with pytest.raises(LookupError, match="holds 2 Deployments"):
        probes_of("two", tmp_path)
    with pytest.raises(ValueError, match="probes of services without a URL: svc"):
        Kubelet({}, [Probe("svc", "/readyz", 1, 1)])
