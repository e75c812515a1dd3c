"""Health checks: every container can tell the kubelet it is alive, ready, and done booting."""

from __future__ import annotations

from suites import promises
from suites.static.manifest import Obj, Rendered, container_port, container_refs, main_container

PROBES = ("startupProbe", "readinessProbe", "livenessProbe")


def _probe_port(probe: Obj) -> int | str | None:
    for handler in ("httpGet", "tcpSocket", "grpc"):
        if handler in probe:
            port: int | str = probe[handler]["port"]
            return port
    return None


def probe_violations(rendered: Rendered) -> list[str]:
    """Startup, readiness and liveness probes on every container, on ports it exposes."""
    violations = []
    for _, container, where in container_refs(rendered):
        for kind in PROBES:
            probe = container.get(kind)
            if probe is None:
                violations.append(f"{where} has no {kind}")
                continue
            port = _probe_port(probe)
            if port is not None and container_port(container, port) is None:
                violations.append(f"{where} {kind} checks port {port}, which it does not expose")
    return violations


def service_probe_violations(rendered: Rendered) -> list[str]:
    """Our services answer readiness on /readyz and liveness on /healthz, on their own port."""
    violations = []
    expected = {"readinessProbe": promises.READINESS_PATH, "livenessProbe": promises.LIVENESS_PATH}
    for service in promises.SERVICES:
        container = main_container(rendered.workload(service.name))
        for kind, path in expected.items():
            http = container.get(kind, {}).get("httpGet")
            if http is None:
                violations.append(f"{service.name} {kind} is not an HTTP GET of {path}")
                continue
            if http.get("path") != path:
                violations.append(f"{service.name} {kind} gets {http.get('path')}, not {path}")
            if container_port(container, http["port"]) != service.port:
                violations.append(f"{service.name} {kind} is not on port {service.port}")
    return violations


#: The longest a wedged service process may hold its pod once its liveness probe has failed.
WEDGED_KILL_SECONDS = 10


def wedged_kill_violations(rendered: Rendered) -> list[str]:
    """Each service's liveness probe sets its own grace period, at most WEDGED_KILL_SECONDS:
    without it the kubelet gives a process that stopped answering the pod's whole grace period,
    meant for a graceful stop, before it kills it."""
    violations = []
    for service in promises.SERVICES:
        pod_grace = rendered.workload(service.name)["spec"]["template"]["spec"].get(
            "terminationGracePeriodSeconds", 30
        )
        probe = main_container(rendered.workload(service.name)).get("livenessProbe", {})
        grace = probe.get("terminationGracePeriodSeconds")
        if grace is None:
            violations.append(
                f"{service.name} livenessProbe has no terminationGracePeriodSeconds: a wedged "
                f"process is killed after the pod's {pod_grace} s"
            )
        elif grace > WEDGED_KILL_SECONDS:
            violations.append(
                f"{service.name} livenessProbe gives a wedged process {grace} s "
                f"(at most {WEDGED_KILL_SECONDS})"
            )
    return violations
