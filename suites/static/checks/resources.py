"""Requests and limits on every container, sized for a 2-core, 24 GiB machine."""

from __future__ import annotations

from suites.static.manifest import Rendered, container_refs, quantity, replicas

RESOURCES = ("cpu", "memory")
#: A 3-node kind cluster on 2 cores: the control plane itself requests ~1 core, and the rest
#: must still fit ~20 pods, so everything we deploy requests at most 1.5 cores in total.
CPU_REQUEST_BUDGET_CORES = 1.5
#: Limits may overcommit the CPU, never the machine's memory (24 GiB, half kept for the host,
#: the node containers and the images).
MEMORY_LIMIT_BUDGET_BYTES = 12 * 2**30


def resource_violations(rendered: Rendered) -> list[str]:
    """Every container, init containers included, has requests and limits, requests <= limits."""
    violations = []
    for _, container, where in container_refs(rendered, init=True):
        declared = container.get("resources", {})
        for bound in ("requests", "limits"):
            for resource in RESOURCES:
                if resource not in declared.get(bound, {}):
                    violations.append(f"{where} has no {resource} {bound[:-1]}")
        for resource in RESOURCES:
            request = declared.get("requests", {}).get(resource)
            limit = declared.get("limits", {}).get(resource)
            if request is not None and limit is not None and quantity(request) > quantity(limit):
                violations.append(
                    f"{where} requests more {resource} ({request}) than its limit ({limit})"
                )
    return violations


def budget_violations(rendered: Rendered) -> list[str]:
    """The overlay at rest fits the machine."""
    cpu = memory = 0.0
    for workload, container, _ in container_refs(rendered):
        declared, count = container.get("resources", {}), replicas(workload, rendered)
        cpu += count * quantity(declared.get("requests", {}).get("cpu", 0))
        memory += count * quantity(declared.get("limits", {}).get("memory", 0))
    violations = []
    if cpu > CPU_REQUEST_BUDGET_CORES:
        violations.append(
            f"CPU requests total {cpu:.2f} cores, over the {CPU_REQUEST_BUDGET_CORES} budget"
        )
    if memory > MEMORY_LIMIT_BUDGET_BYTES:
        violations.append(
            f"memory limits total {memory / 2**30:.1f} GiB, over the "
            f"{MEMORY_LIMIT_BUDGET_BYTES / 2**30:.0f} GiB budget"
        )
    return violations
