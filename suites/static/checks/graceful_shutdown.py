"""A preStop delay, so endpoints drain before the process stops, inside the grace period."""

from __future__ import annotations

import re

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
