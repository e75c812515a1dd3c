"""The kubelet's readiness and liveness probes, asked of the local stack's services.

In the cluster each service's /readyz and /healthz are asked every few seconds for as long as it
runs, faults or not, and their answers are waited for only so long. That traffic runs code the
clients' requests never do: a readiness ping cut short every 5 s while MongoDB was down is the
suspect of the MongoDB client that got stuck on 6 Dec 2026 (docs/services.md, "A stuck MongoDB
client fails /healthz"), which no local campaign could have found, as none asked. The local
campaign asks them the same way: each probe of each service's Deployment in the base manifests,
on its period and with its timeout, for the whole run; the answers are counted for the report.
What a probe would make the kubelet do (take a replica out of the Service, restart it) is left
to the cluster: here the checker judges the orders and notifications, as before.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
import yaml

#: Where the services' Deployments are drawn.
MANIFESTS = Path(__file__).resolve().parents[2] / "manifests" / "base"
#: The probes the kubelet asks for as long as a container runs (the startup probe ends at Ready).
KINDS = ("readinessProbe", "livenessProbe")
#: The kubelet's defaults, where a probe does not say.
DEFAULT_PERIOD_SECONDS = 10.0
DEFAULT_TIMEOUT_SECONDS = 1.0


@dataclass(frozen=True)
class Probe:
    service: str
    path: str
    period: float
    timeout: float


def probes_of(service: str, manifests: Path = MANIFESTS) -> list[Probe]:
    """The readiness and liveness probes of the service's Deployment (`<service>.yaml`)."""
    path = manifests / f"{service}.yaml"
    if not path.is_file():
        raise LookupError(f"no manifest of {service!r} at {path}")
    deployments = [
        doc for doc in yaml.safe_load_all(path.read_text()) if doc and doc["kind"] == "Deployment"
    ]
    if len(deployments) != 1:
        raise LookupError(f"{path} holds {len(deployments)} Deployments, not one")
    container = deployments[0]["spec"]["template"]["spec"]["containers"][0]
    return [
        Probe(
            service,
            container[kind]["httpGet"]["path"],
            float(container[kind].get("periodSeconds", DEFAULT_PERIOD_SECONDS)),
            float(container[kind].get("timeoutSeconds", DEFAULT_TIMEOUT_SECONDS)),
        )
        for kind in KINDS
        if kind in container
    ]


def ask(url: str, timeout: float) -> str:
    """How one probe ended: its status code, `timeout`, or the error that left it unanswered
    (`ConnectError` while a fault has the service down). A new connection each time, as the
    kubelet's HTTP probes."""
    try:
        return str(httpx.get(url, timeout=timeout).status_code)
    except httpx.TimeoutException:
        return "timeout"
    except httpx.TransportError as exc:
        return type(exc).__name__


class Kubelet:
    """Asks each probe of each service (`urls`: the service's name -> its base URL) on the
    probe's period, from start() until stop(); `answers` counts how each ended."""

    def __init__(self, urls: Mapping[str, str], probes: list[Probe]) -> None:
        unknown = sorted({p.service for p in probes} - set(urls))
        if unknown:
            raise ValueError(f"probes of services without a URL: {', '.join(unknown)}")
        self._urls = dict(urls)
        self._probes = probes
        self._stopped = threading.Event()
        self._threads = [
            threading.Thread(target=self._ask, args=(p,), name=f"probe {p.service}{p.path}")
            for p in probes
        ]
        self._lock = threading.Lock()
        self.answers: Counter[str] = Counter()

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> dict[str, int]:
        """Stops asking; the answers, as `<service> <path> <answer>` -> how many."""
        self._stopped.set()
        for thread in self._threads:
            thread.join()
        with self._lock:
            return dict(sorted(self.answers.items()))

    def _ask(self, probe: Probe) -> None:
        url = f"{self._urls[probe.service]}{probe.path}"
        while not self._stopped.is_set():
            asked = time.monotonic()
            outcome = ask(url, probe.timeout)
            with self._lock:
                self.answers[f"{probe.service} {probe.path} {outcome}"] += 1
            self._stopped.wait(max(0.0, asked + probe.period - time.monotonic()))
