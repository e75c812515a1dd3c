"""A preStop delay, so endpoints drain before the process stops, inside the grace period; and
for the services built here, the drain and then their own shutdown (uvicorn finishing the
requests in flight after SIGTERM) inside it too."""

from __future__ import annotations

import re
from collections.abc import Collection

from suites.static.manifest import Obj, Rendered, container_refs, pod_spec

DEFAULT_GRACE_SECONDS = 30


def pre_stop_seconds(container: Obj) -> int | None:
    """How long the preStop hook holds the container, None without a recognisable delay."""
    hook = container.get("lifecycle", {}).get("preStop", {})
    if "sleep" in hook:
        seconds: int = hook["sleep"]["seconds"]
        return seconds
    command = " ".join(hook.get("exec", {}).get("command", []))
    if drain := re.search(r"/drainz\?seconds=(\d+)", command):
        return int(drain.group(1))  # our services' drain endpoint holds the hook that long
    if match := re.search(r"\bsleep\s+(\d+)", command):
        return int(match.group(1))
    return None


def graceful_shutdown_violations(rendered: Rendered) -> list[str]:
    violations = []
    for workload, container, where in container_refs(rendered):
        delay = pre_stop_seconds(container)
        if delay is None or delay <= 0:
            violations.append(f"{where} has no preStop delay")
            continue
        grace = pod_spec(workload).get("terminationGracePeriodSeconds", DEFAULT_GRACE_SECONDS)
        if grace <= delay:
            violations.append(
                f"{where} sleeps {delay}s before stopping, but the grace period is only {grace}s"
            )
    return violations


def drain_and_shutdown_violations(
    rendered: Rendered, services: Collection[str], shutdown_seconds: float
) -> list[str]:
    """The services' containers whose preStop drain plus their own graceful shutdown (up to
    `shutdown_seconds` for the requests in flight after SIGTERM) outlasts the grace period: the
    kubelet would SIGKILL a process still answering."""
    violations = []
    for workload, container, where in container_refs(rendered):
        if workload["metadata"]["name"] not in services:
            continue
        delay = pre_stop_seconds(container) or 0
        grace = pod_spec(workload).get("terminationGracePeriodSeconds", DEFAULT_GRACE_SECONDS)
        if delay + shutdown_seconds > grace:
            violations.append(
                f"{where} drains {delay}s, then takes up to {shutdown_seconds:g}s to finish its "
                f"requests ({delay + shutdown_seconds:g}s in all), but the grace period is only "
                f"{grace}s"
            )
    return violations
